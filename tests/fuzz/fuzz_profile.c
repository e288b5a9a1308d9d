/* Fuzz the profile parser: no crash, and what parses formats to text that parses to the same
 * profile (format is a fixed point after one round). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/profile.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vt_profile p = {0}, q = {0};
        vt_buf a = VT_BUF_INIT, b = VT_BUF_INIT;

        if (vt_profile_parse("/etc/vfiotx/vfiotx.conf", (const char *)data, size, &p) == 0) {
                if (vt_profile_format(&p, &a) < 0 ||
                    vt_profile_parse("/etc/vfiotx/vfiotx.conf", a.ptr, a.len, &q) < 0 ||
                    vt_profile_format(&q, &b) < 0 || !vt_buf_equal(&a, &b))
                        abort();
        }
        vt_error_clear();
        vt_profile_free(&p);
        vt_profile_free(&q);
        vt_buf_free(&a);
        vt_buf_free(&b);
        return 0;
}
