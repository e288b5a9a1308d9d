/* vfiotx's systemd-boot entries (bootcount_sdboot.h). */
#include "backends/bootcount_sdboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

int vt_sdboot_trial_name(long txn, unsigned tries, char **out)
{
        char stem[64];

        if (txn <= 0 || tries < 1 || tries > VT_BOOTCOUNT_MAX_TRIES)
                return vt_error_set(EINVAL, "a trial entry needs a transaction and 1..%d tries",
                                    VT_BOOTCOUNT_MAX_TRIES);
        snprintf(stem, sizeof(stem), VT_SDBOOT_TRIAL_STEM_PREFIX "%ld", txn);
        return vt_bls_name_make(stem, true, tries, 0, out);
}

bool vt_sdboot_is_trial(const char *file, long txn)
{
        vt_bls_name n = {NULL, false, 0, 0};
        const size_t pl = strlen(VT_SDBOOT_TRIAL_STEM_PREFIX);
        bool yes = false;
        char *end;
        long t;

        if (strncmp(file, VT_SDBOOT_TRIAL_STEM_PREFIX, pl) != 0 ||
            vt_bls_name_parse(file, &n) < 0) {
                vt_error_clear();
                return false;
        }
        t = strtol(n.stem + pl, &end, 10);
        yes = end != n.stem + pl && !*end && t > 0 && (txn == 0 || t == txn);
        vt_bls_name_free(&n);
        return yes;
}

int vt_sdboot_trial_entry(const vt_bls_entry *base, long txn, unsigned panic_s,
                          const char *saved_default, vt_buf *out)
{
        _cleanup_free_ char *options = NULL, *title = NULL, *opts = NULL;
        _cleanup_buf_ vt_buf body = VT_BUF_INIT;
        vt_bls_entry e = VT_BLS_ENTRY_INIT;
        int r;

        r = vt_bls_entry_format(base, &body);
        if (r >= 0)
                r = vt_bls_entry_parse(body.ptr, body.len, "the trial entry", &e);
        if (r < 0)
                return r;
        r = vt_bls_entry_options(base, &options);
        if (r >= 0 &&
            (asprintf(&title, "%s (vfiotx trial %ld)",
                      vt_bls_entry_title(base) ? vt_bls_entry_title(base) : "Linux", txn) < 0 ||
             asprintf(&opts, "%s%s" VT_CMDLINE_TRIAL "=%ld panic=%u", options ? options : "",
                      options && *options ? " " : "", txn, panic_s) < 0))
                r = vt_error_set(ENOMEM, "out of memory");
        if (r >= 0)
                r = vt_bls_entry_set(&e, "title", title);
        if (r >= 0)
                r = vt_bls_entry_set(&e, "options", opts);
        /* Without a sort-key the trial never outranks the distribution's entries on its own:
         * only the LoaderEntryDefault pattern picks it. */
        if (r >= 0)
                r = vt_bls_entry_set(&e, "sort-key", NULL);
        vt_buf_clear(&body);
        if (r >= 0)
                r = vt_bls_entry_format(&e, &body);
        vt_bls_entry_free(&e);
        if (r < 0)
                return r;
        if (saved_default && strpbrk(saved_default, "\r\n"))
                return vt_error_set(EINVAL, "LoaderEntryDefault holds a line break");
        vt_buf_clear(out);
        if (vt_buf_printf(out,
                          "# vfiotx: the trial of transaction %ld (docs/bootcount.md). Do not "
                          "edit.\n" VT_SDBOOT_SAVED_PREFIX "%s%s\n",
                          txn, saved_default ? " " : "", saved_default ? saved_default : "") < 0 ||
            vt_buf_put(out, body.ptr, body.len) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

int vt_sdboot_saved_default(const void *data, size_t len, char **value)
{
        const size_t pl = strlen(VT_SDBOOT_SAVED_PREFIX);
        const char *p = data, *end = p + len;

        *value = NULL;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = (size_t)((nl ? nl : end) - p);

                if (l >= pl && memcmp(p, VT_SDBOOT_SAVED_PREFIX, pl) == 0) {
                        const char *v = p + pl;
                        size_t vl = l - pl;

                        while (vl && *v == ' ')
                                v++, vl--;
                        if (vl && !(*value = strndup(v, vl)))
                                return vt_error_set(ENOMEM, "out of memory");
                        return 0;
                }
                p = nl ? nl + 1 : end;
        }
        return vt_error_set(ENOENT, "the trial entry has no saved LoaderEntryDefault line");
}

int vt_sdboot_last_good_entry(const char *kver, long txn, const char *cmdline,
                              const char *esp_kernel, const char *esp_initrd, vt_buf *out)
{
        vt_buf_clear(out);
        if (vt_buf_printf(out,
                          "# vfiotx: the last good boot (transaction %ld), booted by itself when "
                          "a trial fails\n# (docs/bootcount.md). Do not edit.\n"
                          "title      Last good configuration (vfiotx, transaction %ld)\n"
                          "version    %s\n"
                          "options    %s\n"
                          "linux      %s\n",
                          txn, txn, kver, cmdline, esp_kernel) < 0 ||
            (esp_initrd && vt_buf_printf(out, "initrd     %s\n", esp_initrd) < 0))
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

int vt_sdboot_counter_read_names(char *const *names, size_t n, vt_bootcount *out, char **file)
{
        const char *best = NULL;
        vt_bls_name bn = {NULL, false, 0, 0};
        long best_txn = 0;
        int r;

        *out = (vt_bootcount){VT_BOOTCOUNT_NONE, 0, -1, 0, 0};
        if (file)
                *file = NULL;
        for (size_t i = 0; i < n; i++) {
                vt_bls_name cur = {NULL, false, 0, 0};
                long t;

                if (!vt_sdboot_is_trial(names[i], 0))
                        continue;
                r = vt_bls_name_parse(names[i], &cur);
                if (r < 0)
                        return r;
                t = strtol(cur.stem + strlen(VT_SDBOOT_TRIAL_STEM_PREFIX), NULL, 10);
                /* The newest trial; of two names of one entry (a cut inside a FAT rename), the
                 * one the loader renamed last: fewer tries left. */
                if (!best || t > best_txn ||
                    (t == best_txn && cur.has_counter && (!bn.has_counter || cur.left < bn.left))) {
                        vt_bls_name_free(&bn);
                        bn = cur;
                        best = names[i];
                        best_txn = t;
                } else {
                        vt_bls_name_free(&cur);
                }
        }
        if (!best)
                return 0;
        out->trial = best_txn;
        out->tries = bn.has_counter ? (int)(bn.left > 9 ? 9 : bn.left) : -1;
        out->phase = bn.has_counter && bn.left == 0 ? VT_BOOTCOUNT_FELL_BACK : VT_BOOTCOUNT_ARMED;
        out->fallback = out->phase == VT_BOOTCOUNT_FELL_BACK ? best_txn : 0;
        vt_bls_name_free(&bn);
        if (file && !(*file = strdup(best)))
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}
