/* Boot counting on systemd-boot (issue 16): vfiotx's two entries and what they say. Pure: names
 * and bytes in, names, bytes and the counter's phase out; engine/sdboot_counter.h writes.
 *
 * While a trial is armed the ESP holds (docs/bootcount.md):
 *   loader/entries/vfiotx-1-trial-<txn>+<N>.conf  the entry the host boots by default (after the
 *        rebuild: the new configuration), its title marked, `vfiotx.trial=<txn> panic=<s>` added
 *        to its options and its sort-key dropped; systemd-boot counts it down in its name
 *        (+N -> +N-1-1 -> ... -> +0-N) and sorts it last once no try is left;
 *   loader/entries/vfiotx-0-last-good.conf  the last good boot (backends/boot_preserve.h);
 *   LoaderEntryDefault = "vfiotx-*"  the pattern matches the trial first (ids compare
 *        "vfiotx-1-..." > "vfiotx-0-..." and the highest sorts first) while it has tries, and
 *        the last good entry once the trial is bad (bad entries sort after every other).
 * The value LoaderEntryDefault had before arming is kept in the trial entry itself, on a
 * comment line the loader skips ("# vfiotx-saved-default: VALUE" or "# vfiotx-saved-default:"
 * for unset), so it lives exactly as long as the trial does.
 *
 * Contract: 0 or a negative errno with a message; strings through char ** are the caller's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bls_entry.h"
#include "backends/bootcount_grub.h"
#include "common/buf.h"

#define VT_SDBOOT_TRIAL_STEM_PREFIX "vfiotx-1-trial-"
#define VT_SDBOOT_LAST_GOOD_FILE    "vfiotx-0-last-good.conf"
#define VT_SDBOOT_PATTERN           "vfiotx-*"
#define VT_SDBOOT_SAVED_PREFIX      "# vfiotx-saved-default:"

/* "vfiotx-1-trial-<txn>+<tries>.conf". tries 1..VT_BOOTCOUNT_MAX_TRIES (one digit: the 252
 * loader reads one, backends/bls_entry.h). */
int vt_sdboot_trial_name(long txn, unsigned tries, char **out);

/* Is `file` one of txn's trial entries, whatever counter the loader or systemd-bless-boot gave
 * it ("vfiotx-1-trial-7+2-1.conf", "vfiotx-1-trial-7.conf")? txn 0: any transaction's. */
bool vt_sdboot_is_trial(const char *file, long txn);

/* The trial entry's bytes from the default entry's (`base`, as read from the ESP): title
 * "<title> (vfiotx trial <txn>)", options + " vfiotx.trial=<txn> panic=<panic_s>", no
 * sort-key, and the saved LoaderEntryDefault (NULL: unset) on the first line. */
int vt_sdboot_trial_entry(const vt_bls_entry *base, long txn, unsigned panic_s,
                          const char *saved_default, vt_buf *out);

/* The saved LoaderEntryDefault in a trial entry's bytes: 0 with *value NULL (unset before the
 * trial) or the value; -ENOENT when the line is missing. */
int vt_sdboot_saved_default(const void *data, size_t len, char **value);

/* The last good entry's bytes: `kver`, `txn`, the last good command line (with its
 * vfiotx.fallback=1 marker) and the ESP-relative paths of the copies (initrd may be NULL). */
int vt_sdboot_last_good_entry(const char *kver, long txn, const char *cmdline,
                              const char *esp_kernel, const char *esp_initrd, vt_buf *out);

/* The counter from the names in loader/entries: the trial entry of the highest transaction
 * (several names of one entry after a cut inside a FAT rename: the one with fewer tries left).
 * phase NONE (no trial entry), ARMED (tries left > 0 or no counter any more: blessed), or
 * FELL_BACK (0 tries left: the loader boots the last good entry next); `out->trial` the
 * transaction, `out->tries` tries left (-1 without a counter), `*file` (may be NULL) the
 * trial's file name. */
int vt_sdboot_counter_read_names(char *const *names, size_t n, vt_bootcount *out, char **file);
