#include "common/failpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"

static unsigned reached;
static long fail_at = -1, kill_at = -1;
static int trace = -1;

static long env_long(const char *name)
{
        const char *v = getenv(name);
        char *end;
        long n;

        if (!v || !*v)
                return 0;
        n = strtol(v, &end, 10);
        return *end ? 0 : n;
}

int vt_failpoint(const char *name)
{
        if (trace < 0) {
                fail_at = env_long("VFIOTX_FAILPOINT_FAIL");
                kill_at = env_long("VFIOTX_FAILPOINT_KILL");
                trace = env_long("VFIOTX_FAILPOINT_TRACE") > 0;
        }
        reached++;
        if (trace)
                fprintf(stderr, "vfiotx: failpoint %u: %s\n", reached, name);
        if (kill_at > 0 && reached == (unsigned long)kill_at) {
                fflush(NULL);
                raise(SIGKILL);
        }
        if (fail_at > 0 && reached == (unsigned long)fail_at)
                return vt_error_set(EIO, "simulated I/O error at failpoint %u (%s)", reached, name);
        return 0;
}

unsigned vt_failpoint_count(void)
{
        return reached;
}

void vt_failpoint_reset(void)
{
        reached = 0;
        trace = -1;
}
