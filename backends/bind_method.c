#include "backends/bind_method.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

static const char *const names[_VT_BIND_MAX] = {
    [VT_BIND_IDS] = "ids",
    [VT_BIND_ALIAS] = "alias",
    [VT_BIND_BLACKLIST] = "blacklist",
    [VT_BIND_OVERRIDE] = "override",
};

int vt_bind_method_parse(const char *s, vt_bind_method *out)
{
        for (int i = 0; i < _VT_BIND_MAX; i++) {
                if (s && strcmp(s, names[i]) == 0) {
                        *out = (vt_bind_method)i;
                        return 0;
                }
        }
        vt_error_set(EINVAL, "unknown binding method '%s'", s ? s : "");
        return vt_error_hint(EINVAL, "use one of: ids, alias, blacklist, override");
}

const char *vt_bind_method_name(vt_bind_method m)
{
        if ((int)m < 0 || m >= _VT_BIND_MAX)
                return "unknown";
        return names[m];
}
