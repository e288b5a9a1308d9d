/* The systemctl queries of the health checks (systemctl.h). */
#include "engine/systemctl.h"

#include "engine/runner.h"

int vt_systemctl_failed(vt_buf *out)
{
        static const char *const argv[] = {"systemctl",   "--failed",   "--plain",
                                           "--no-legend", "--no-pager", NULL};
        vt_run_opts opts = {.timeout_ms = 30000};
        vt_run_result res = {0};
        int r;

        r = vt_run(argv, &opts, &res);
        if (r >= 0) {
                vt_buf_free(out);
                *out = res.output;
                res.output = (vt_buf)VT_BUF_INIT;
        }
        vt_run_result_free(&res);
        return r;
}
