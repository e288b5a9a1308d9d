/* loader.conf's `default` and `timeout`, read as systemd-boot 252 reads them (loader_conf.h). */
#include "backends/loader_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bls_entry.h"
#include "common/error.h"
#include "common/macro.h"

void vt_loader_conf_free(vt_loader_conf *c)
{
        if (!c)
                return;
        free(c->default_entry);
        c->default_entry = NULL;
}

/* gnu-efi's Atoi() (64-bit UINTN, wrapping as it does), then the loader's MIN(.., UINT32_MAX). */
static uint32_t loader_atoi(const char *s)
{
        uint64_t u = 0;

        while (*s == ' ')
                s++;
        for (; *s >= '0' && *s <= '9'; s++)
                u = u * 10 + (uint64_t)(*s - '0');
        return u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

int vt_loader_conf_parse(const void *data, size_t len, vt_loader_conf *out)
{
        const char *p = data, *end;
        _cleanup_(vt_loader_conf_free) vt_loader_conf c = VT_LOADER_CONF_INIT;
        const char *nul = len > 0 ? memchr(p, '\0', len) : NULL;
        int r;

        end = nul ? nul : p + len;
        while (p < end) {
                const char *eol = p;
                _cleanup_free_ char *key = NULL, *value = NULL;

                while (eol < end && *eol != '\n' && *eol != '\r')
                        eol++;
                r = vt_bls_line_split(p, (size_t)(eol - p), &key, &value);
                if (r < 0)
                        return r;
                p = eol < end ? eol + 1 : end;
                if (!key)
                        continue;
                if (strcmp(key, "timeout") == 0) {
                        if (strcmp(value, "menu-force") == 0)
                                c.timeout = VT_LOADER_TIMEOUT_MENU_FORCE;
                        else if (strcmp(value, "menu-hidden") == 0)
                                c.timeout = VT_LOADER_TIMEOUT_MENU_HIDDEN;
                        else
                                c.timeout = loader_atoi(value);
                        c.timeout_set = true;
                } else if (strcmp(key, "default") == 0) {
                        if (value[0] == '@' && strcmp(value, VT_LOADER_DEFAULT_SAVED) != 0)
                                continue;
                        free(c.default_entry);
                        c.default_entry = TAKE_PTR(value);
                }
        }
        *out = c;
        c = (vt_loader_conf)VT_LOADER_CONF_INIT;
        return 0;
}
