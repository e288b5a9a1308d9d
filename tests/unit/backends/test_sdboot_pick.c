/* systemd-boot 252's version comparison, pattern match, entry order and default pick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

#include "backends/sdboot_pick.h"
#include "common/error.h"
#include "common/macro.h"

/* ---- strverscmp_improved ---- */

/* The vectors of systemd's own test (src/test/test-string-util.c, TEST(strverscmp_improved) and
 * TEST(strverscmp_improved_rpm), the latter taken by systemd from rpm's tests/rpmvercmp.at). */
static const char *const ordered[] = {
    "~1",    "",        "ab",         "abb",   "abc",     "0001",    "002",    "12",
    "122",   "122.9",   "123~rc1",    "123",   "123-a",   "123-a.1", "123-a1", "123-a1.1",
    "123-3", "123-3.1", "123^patch1", "123^1", "123.a-1", "123.1-1", "123a-1", "124",
};

static const char *const newer_pairs[][2] = {
    {"123.45-67.88", "123.45-67.89"},   {"123.45-67.89", "123.45-67.89a"},
    {"123.45-67.ab", "123.45-67.89"},   {"123.45-67.9", "123.45-67.89"},
    {"123.45-67", "123.45-67.89"},      {"123.45-66.89", "123.45-67.89"},
    {"123.45-9.99", "123.45-67.89"},    {"123.42-99.99", "123.45-67.89"},
    {"123-99.99", "123.45-67.89"},      {"123~rc1-99.99", "123.45-67.89"},
    {"123~rc1-99.99", "123-45.67.89"},  {"123~rc1-99.99", "123~rc2-67.89"},
    {"123~rc1-99.99", "123^aa2-67.89"}, {"123~rc1-99.99", "123aa2-67.89"},
    {"123-99.99", "123.45-67.89"},      {"123-99.99", "123^aa2-67.89"},
    {"123-99.99", "123aa2-67.89"},      {"123^45-67.89", "123.45-67.89"},
    {"123^aa1-99.99", "123^aa2-67.89"}, {"123^aa2-67.89", "123aa2-67.89"},
    {"123.aa2-67.89", "123aa2-67.89"},  {"123.aa2-67.89", "123.ab2-67.89"},
};

struct vec {
        const char *a, *b;
        int want;
};

static const struct vec vectors[] = {
    {"123_aa2-67.89", "123aa+2-67.89", 0},
    {"123.", "123", 1},
    {"12_3", "123", -1},
    {"12_3", "12", 1},
    {"12_3", "12.3", 1},
    {"123.0", "123", 1},
    {"123_0", "123", 1},
    {"123..0", "123.0", -1},
    {"", NULL, 0},
    {NULL, "", 0},
    {"0_", "0", 0},
    {"_0_", "0", 0},
    {"_0", "0", 0},
    {"0", "0___", 0},
    {"", "_", 0},
    {"_", "", 0},
    {"_", "_", 0},
    {"", "~", 1},
    {"~", "", -1},
    {"~", "~", 0},
    /* rpmvercmp.at, as systemd's test keeps them (some reversed from rpm on purpose) */
    {"1.0", "1.0", 0},
    {"1.0", "2.0", -1},
    {"2.0", "1.0", 1},
    {"2.0.1", "2.0.1", 0},
    {"2.0", "2.0.1", -1},
    {"2.0.1", "2.0", 1},
    {"2.0.1a", "2.0.1a", 0},
    {"2.0.1a", "2.0.1", 1},
    {"2.0.1", "2.0.1a", -1},
    {"5.5p1", "5.5p1", 0},
    {"5.5p1", "5.5p2", -1},
    {"5.5p2", "5.5p1", 1},
    {"5.5p10", "5.5p10", 0},
    {"5.5p1", "5.5p10", -1},
    {"5.5p10", "5.5p1", 1},
    {"10xyz", "10.1xyz", 1},
    {"10.1xyz", "10xyz", -1},
    {"xyz10", "xyz10", 0},
    {"xyz10", "xyz10.1", -1},
    {"xyz10.1", "xyz10", 1},
    {"xyz.4", "xyz.4", 0},
    {"xyz.4", "8", -1},
    {"8", "xyz.4", 1},
    {"xyz.4", "2", -1},
    {"2", "xyz.4", 1},
    {"5.5p2", "5.6p1", -1},
    {"5.6p1", "5.5p2", 1},
    {"5.6p1", "6.5p1", -1},
    {"6.5p1", "5.6p1", 1},
    {"6.0.rc1", "6.0", 1},
    {"6.0", "6.0.rc1", -1},
    {"10b2", "10a1", 1},
    {"10a2", "10b2", -1},
    {"1.0aa", "1.0aa", 0},
    {"1.0a", "1.0aa", -1},
    {"1.0aa", "1.0a", 1},
    {"10.0001", "10.0001", 0},
    {"10.0001", "10.1", 0},
    {"10.1", "10.0001", 0},
    {"10.0001", "10.0039", -1},
    {"10.0039", "10.0001", 1},
    {"4.999.9", "5.0", -1},
    {"5.0", "4.999.9", 1},
    {"20101121", "20101121", 0},
    {"20101121", "20101122", -1},
    {"20101122", "20101121", 1},
    {"2_0", "2_0", 0},
    {"2.0", "2_0", -1},
    {"2_0", "2.0", 1},
    {"a", "a", 0},
    {"a+", "a+", 0},
    {"a+", "a_", 0},
    {"a_", "a+", 0},
    {"+a", "+a", 0},
    {"+a", "_a", 0},
    {"_a", "+a", 0},
    {"+_", "+_", 0},
    {"_+", "+_", 0},
    {"_+", "_+", 0},
    {"+", "_", 0},
    {"_", "+", 0},
    {"1.0~rc1", "1.0~rc1", 0},
    {"1.0~rc1", "1.0", -1},
    {"1.0", "1.0~rc1", 1},
    {"1.0~rc1", "1.0~rc2", -1},
    {"1.0~rc2", "1.0~rc1", 1},
    {"1.0~rc1~git123", "1.0~rc1~git123", 0},
    {"1.0~rc1~git123", "1.0~rc1", -1},
    {"1.0~rc1", "1.0~rc1~git123", 1},
    {"1.0^", "1.0^", 0},
    {"1.0^", "1.0", 1},
    {"1.0", "1.0^", -1},
    {"1.0^git1", "1.0^git1", 0},
    {"1.0^git1", "1.0", 1},
    {"1.0", "1.0^git1", -1},
    {"1.0^git1", "1.0^git2", -1},
    {"1.0^git2", "1.0^git1", 1},
    {"1.0^git1", "1.01", -1},
    {"1.01", "1.0^git1", 1},
    {"1.0^20160101", "1.0^20160101", 0},
    {"1.0^20160101", "1.0.1", -1},
    {"1.0.1", "1.0^20160101", 1},
    {"1.0^20160101^git1", "1.0^20160101^git1", 0},
    {"1.0^20160102", "1.0^20160101^git1", 1},
    {"1.0^20160101^git1", "1.0^20160102", -1},
    {"1.0~rc1^git1", "1.0~rc1^git1", 0},
    {"1.0~rc1^git1", "1.0~rc1", 1},
    {"1.0~rc1", "1.0~rc1^git1", -1},
    {"1.0^git1~pre", "1.0^git1~pre", 0},
    {"1.0^git1", "1.0^git1~pre", 1},
    {"1.0^git1~pre", "1.0^git1", -1},
    {"1b.fc17", "1b.fc17", 0},
    {"1b.fc17", "1.fc17", 1},
    {"1.fc17", "1b.fc17", -1},
    {"1g.fc17", "1g.fc17", 0},
    {"1g.fc17", "1.fc17", 1},
    {"1.fc17", "1g.fc17", -1},
    {"1.1.\xce\xb1", "1.1.\xce\xb1", 0},
    {"1.1.\xce\xb1", "1.1.\xce\xb2", 0},
    {"1.1.\xce\xb2", "1.1.\xce\xb1", 0},
    {"1.1.\xce\xb1\xce\xb1", "1.1.\xce\xb1", 0},
    {"1.1.\xce\xb1", "1.1.\xce\xb2\xce\xb2", 0},
    {"1.1.\xce\xb2\xce\xb2", "1.1.\xce\xb1\xce\xb1", 0},
    /* The UAPI specification's examples. */
    {"bar-123", "foo-123", -1},
    {"123a", "123.a", 1},
    {"B", "a", -1},
    {"0", "~", 1},
    {"1_2_3", "1.3.3", 1},
    {"1+2+3", "1.3.3", 1},
    /* Debian kernel entries and the vfiotx pair (what the default pick relies on). */
    {"6.1.0-21-amd64", "6.1.0-18-amd64", 1},
    {"6.1.0-10-amd64", "6.1.0-9-amd64", 1},
    {"vfiotx-1-trial-7+3.conf", "vfiotx-0-last-good.conf", 1},
    {"vfiotx-0-last-good.conf", "proxmox-6.8.12-4-pve.conf", 1},
};

static int sgn(int v)
{
        return (v > 0) - (v < 0);
}

static void expect_cmp(const char *a, const char *b, int want)
{
        int got = sgn(vt_strverscmp_improved(a, b));

        if (got != want)
                fail_msg("strverscmp_improved('%s', '%s') = %d, want %d", a ? a : "(null)",
                         b ? b : "(null)", got, want);
}

static void test_strverscmp_vectors(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(ordered); i++) {
                expect_cmp(ordered[i], ordered[i], 0);
                for (size_t k = i + 1; k < ARRAY_SIZE(ordered); k++) {
                        expect_cmp(ordered[i], ordered[k], -1);
                        expect_cmp(ordered[k], ordered[i], 1);
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(newer_pairs); i++) {
                expect_cmp(newer_pairs[i][0], newer_pairs[i][1], -1);
                expect_cmp(newer_pairs[i][1], newer_pairs[i][0], 1);
        }
        for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
                expect_cmp(vectors[i].a, vectors[i].b, vectors[i].want);
}

/* The oracle: `systemd-analyze compare-versions` of systemd 252 (the version Debian 12 ships
 * and this model follows) on every vector, where that program is installed. */
static void test_strverscmp_oracle(void **state)
{
        const char *const ver[] = {"systemd-analyze", "--version", NULL};
        _cleanup_free_ char *v = NULL;
        size_t n = 0;

        (void)state;
        if (!have_tool("systemd-analyze")) {
                skip();
                return;
        }
        v = run_ok(ver);
        if (strncmp(v, "systemd 252 ", 12) != 0) {
                skip(); /* another version may compare otherwise: 252 is the model */
                return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
                const char *a = vectors[i].a ? vectors[i].a : "";
                const char *b = vectors[i].b ? vectors[i].b : "";
                const char *const argv[] = {"systemd-analyze", "compare-versions", a, b, NULL};
                int st, want = sgn(vt_strverscmp_improved(a, b));
                _cleanup_free_ char *out = run_capture(argv, &st);

                /* Exit status 12 "<", 0 "==", 11 ">" (systemd-analyze(1) of 252). */
                assert_true(WIFEXITED(st));
                if (WEXITSTATUS(st) != (want < 0 ? 12 : want > 0 ? 11 : 0))
                        fail_msg("systemd-analyze says '%s' for '%s' vs '%s', we say %d", out, a, b,
                                 want);
                n++;
        }
        assert_int_equal(n, ARRAY_SIZE(vectors));
}

/* ---- MetaiMatch ---- */

static void test_match(void **state)
{
        (void)state;
        assert_true(vt_sdboot_match("vfiotx-*", "vfiotx-1-trial-7+3.conf"));
        assert_true(vt_sdboot_match("vfiotx-*", "vfiotx-0-last-good.conf"));
        assert_false(vt_sdboot_match("vfiotx-*", "xvfiotx-0.conf"));
        assert_true(vt_sdboot_match("VFIOTX-*", "vfiotx-0-last-good.conf"));
        assert_true(vt_sdboot_match("proxmox-*", "proxmox-6.8.12-4-pve.conf"));
        assert_false(vt_sdboot_match("proxmox-6.8.12-4-pve", "proxmox-6.8.12-4-pve.conf"));
        assert_true(vt_sdboot_match("proxmox-6.8.12-4-pve.conf", "proxmox-6.8.12-4-pve.conf"));
        assert_true(vt_sdboot_match("*", ""));
        assert_false(vt_sdboot_match("", "a"));
        assert_true(vt_sdboot_match("", ""));
        assert_true(vt_sdboot_match("a?c*.conf", "abc+3.conf"));
        assert_false(vt_sdboot_match("a?c", "ac"));
        assert_true(vt_sdboot_match("*-[0-9]*", "debian-6.1.conf"));
        assert_false(vt_sdboot_match("*-[0-9]", "debian-x"));
        assert_true(vt_sdboot_match("[abc]x", "Bx"));
        assert_true(vt_sdboot_match("[a-c]x", "Bx"));
        assert_false(vt_sdboot_match("[a-c]x", "dx"));
        assert_true(vt_sdboot_match("[-c]x", "+x")); /* a range from U+0000 */
        assert_true(vt_sdboot_match("[a-]x", "ax")); /* found before the bad range */
        assert_false(vt_sdboot_match("[b-]x", "ax"));
        assert_false(vt_sdboot_match("[ab", "a"));
        assert_false(vt_sdboot_match("[]a", "a"));
        assert_true(vt_sdboot_match("x\\*", "x\\abc")); /* no escapes */
        assert_true(vt_sdboot_match("?", "\xc3\xa9"));  /* one character, two bytes */
        assert_true(vt_sdboot_match("*.conf", "a.b.conf"));
        assert_false(vt_sdboot_match(NULL, "a"));
}

/* ---- the pick ---- */

#define MID  "2b3c4d5e6f708192a3b4c5d6e7f80910"
#define OPTS "root=UUID=0f6f4e2c-62b4-4a8e-9a0e-3c1d2b4a5e6f ro quiet"

#define DEBIAN_ENTRY(kver)                                                                         \
        "title      Debian GNU/Linux 12 (bookworm)\n"                                              \
        "version    " kver "\n"                                                                    \
        "machine-id " MID "\n"                                                                     \
        "sort-key   debian\n"                                                                      \
        "options    " OPTS " systemd.machine_id=" MID "\n"                                         \
        "linux      /" MID "/" kver "/linux\n"                                                     \
        "initrd     /" MID "/" kver "/initrd.img-" kver "\n"

#define TRIAL_ENTRY                                                                                \
        "title      Debian GNU/Linux 12 (bookworm) (vfiotx trial 7)\n"                             \
        "version    6.1.0-21-amd64\n"                                                              \
        "machine-id " MID "\n"                                                                     \
        "options    " OPTS " systemd.machine_id=" MID " vfiotx.trial=7 panic=10\n"                 \
        "linux      /" MID "/6.1.0-21-amd64/linux\n"                                               \
        "initrd     /" MID "/6.1.0-21-amd64/initrd.img-6.1.0-21-amd64\n"

#define LAST_GOOD_ENTRY                                                                            \
        "title      Debian GNU/Linux 12 (bookworm) (vfiotx last good)\n"                           \
        "version    6.1.0-21-amd64\n"                                                              \
        "options    " OPTS " vfiotx.fallback=1\n"                                                  \
        "linux      /vfiotx/vmlinuz-6.1.0-21-amd64.6\n"                                            \
        "initrd     /vfiotx/initrd.img-6.1.0-21-amd64.6\n"

#define PROXMOX_ENTRY(kver)                                                                        \
        "title    Proxmox Virtual Environment\n"                                                   \
        "version  " kver "\n"                                                                      \
        "options  root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"                                            \
        "linux    /EFI/proxmox/" kver "/vmlinuz-" kver "\n"                                        \
        "initrd   /EFI/proxmox/" kver "/initrd.img-" kver "\n"

typedef struct esp {
        size_t n;
        vt_sdboot_input in[12];
        vt_bls_entry parsed[12];
} esp;

static void add(esp *e, const char *file, const char *content, bool exists)
{
        assert_true(e->n < 12);
        assert_int_equal(vt_bls_entry_parse(content, strlen(content), file, &e->parsed[e->n]), 0);
        e->in[e->n] = (vt_sdboot_input){file, &e->parsed[e->n], exists};
        e->n++;
}

static void esp_free(esp *e)
{
        for (size_t i = 0; i < e->n; i++)
                vt_bls_entry_free(&e->parsed[i]);
}

/* Pick, then check the default's file name, the rule, and the menu order (file names). */
static void expect_pick(const esp *e, const char *conf, const vt_sdboot_vars *vars,
                        const char *want_default, vt_sdboot_rule want_rule,
                        const char *const *want_order)
{
        _cleanup_sdboot_menu_ vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
        size_t n = 0;

        assert_int_equal(vt_sdboot_pick(e->in, e->n, conf, conf ? strlen(conf) : 0, vars, &m), 0);
        for (; want_order && want_order[n]; n++) {
                const char *got = e->in[m.sorted[n].input].file;

                assert_true(n < m.n);
                if (strcmp(got, want_order[n]) != 0)
                        fail_msg("menu position %zu: %s, want %s", n, got, want_order[n]);
        }
        if (want_order)
                assert_int_equal(m.n, n);
        if (m.rule != want_rule)
                fail_msg("rule %s, want %s", vt_sdboot_rule_name(m.rule),
                         vt_sdboot_rule_name(want_rule));
        if (!want_default) {
                assert_int_equal(vt_sdboot_menu_default_input(&m), (size_t)-1);
                return;
        }
        assert_true(vt_sdboot_menu_default_input(&m) != (size_t)-1);
        if (strcmp(e->in[vt_sdboot_menu_default_input(&m)].file, want_default) != 0)
                fail_msg("default %s, want %s", e->in[vt_sdboot_menu_default_input(&m)].file,
                         want_default);
}

#define ORDER(...) ((const char *const[]){__VA_ARGS__, NULL})
#define DEB18      MID "-6.1.0-18-amd64.conf"
#define DEB21      MID "-6.1.0-21-amd64.conf"
#define LAST_GOOD  "vfiotx-0-last-good.conf"

/* Debian 12 (kernel-install entries with sort-key debian) plus the vfiotx pair, through the
 * trial's life: the loader renames the trial on each boot. */
static void test_debian_trial_lifecycle(void **state)
{
        static const char *const trial_names[] = {
            "vfiotx-1-trial-7+3.conf", "vfiotx-1-trial-7+2-1.conf", "vfiotx-1-trial-7+1-2.conf"};
        const vt_sdboot_vars armed = {NULL, "vfiotx-*", NULL};
        static const char bootctl_conf[] = "#timeout 3\n#console-mode keep\n";

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(trial_names); i++) {
                esp e = {0};

                add(&e, DEB18, DEBIAN_ENTRY("6.1.0-18-amd64"), true);
                add(&e, trial_names[i], TRIAL_ENTRY, true);
                add(&e, LAST_GOOD, LAST_GOOD_ENTRY, true);
                add(&e, DEB21, DEBIAN_ENTRY("6.1.0-21-amd64"), true);
                /* Armed: the trial while it has tries. */
                expect_pick(&e, bootctl_conf, &armed, trial_names[i], VT_SDBOOT_RULE_EFIVAR_DEFAULT,
                            ORDER(DEB21, DEB18, trial_names[i], LAST_GOOD));
                /* Without the variable: Debian's newest kernel, never the last good. */
                expect_pick(&e, bootctl_conf, NULL, DEB21, VT_SDBOOT_RULE_FIRST, NULL);
                esp_free(&e);
        }
}

static void test_debian_trial_exhausted(void **state)
{
        const vt_sdboot_vars armed = {NULL, "vfiotx-*", NULL};
        esp e = {0};

        (void)state;
        add(&e, DEB21, DEBIAN_ENTRY("6.1.0-21-amd64"), true);
        add(&e, "vfiotx-1-trial-7+0-3.conf", TRIAL_ENTRY, true);
        add(&e, LAST_GOOD, LAST_GOOD_ENTRY, true);
        add(&e, DEB18, DEBIAN_ENTRY("6.1.0-18-amd64"), true);
        /* Bad entries go to the end of the whole list: the pattern finds the last good. */
        expect_pick(&e, NULL, &armed, LAST_GOOD, VT_SDBOOT_RULE_EFIVAR_DEFAULT,
                    ORDER(DEB21, DEB18, LAST_GOOD, "vfiotx-1-trial-7+0-3.conf"));
        /* A pattern naming the bad trial itself still picks it: only "first" skips bad. */
        expect_pick(&e, NULL, &(vt_sdboot_vars){NULL, "vfiotx-1-*", NULL},
                    "vfiotx-1-trial-7+0-3.conf", VT_SDBOOT_RULE_EFIVAR_DEFAULT, NULL);
        esp_free(&e);
}

/* OneShot > LoaderEntryDefault > loader.conf default > the first entry; a pattern that matches
 * nothing falls through. */
static void test_rule_order(void **state)
{
        esp e = {0};

        (void)state;
        add(&e, DEB21, DEBIAN_ENTRY("6.1.0-21-amd64"), true);
        add(&e, DEB18, DEBIAN_ENTRY("6.1.0-18-amd64"), true);
        add(&e, "vfiotx-1-trial-7+3.conf", TRIAL_ENTRY, true);
        add(&e, LAST_GOOD, LAST_GOOD_ENTRY, true);
        expect_pick(&e, "default *-6.1.0-18-amd64.conf\n",
                    &(vt_sdboot_vars){LAST_GOOD, "vfiotx-*", NULL}, LAST_GOOD,
                    VT_SDBOOT_RULE_ONESHOT, NULL);
        expect_pick(&e, "default *-6.1.0-18-amd64.conf\n",
                    &(vt_sdboot_vars){"nomatch*", "vfiotx-*", NULL}, "vfiotx-1-trial-7+3.conf",
                    VT_SDBOOT_RULE_EFIVAR_DEFAULT, NULL);
        expect_pick(&e, "default *-6.1.0-18-amd64.conf\n", &(vt_sdboot_vars){NULL, "nomatch", NULL},
                    DEB18, VT_SDBOOT_RULE_CONFIG_DEFAULT, NULL);
        /* 252's ids keep ".conf": a pattern without it matches nothing. */
        expect_pick(&e, "default " MID "-6.1.0-18-amd64\n", NULL, DEB21, VT_SDBOOT_RULE_FIRST,
                    NULL);
        /* "@saved": LoaderEntryLastBooted, from the variable or from loader.conf. */
        expect_pick(&e, NULL, &(vt_sdboot_vars){NULL, "@saved", DEB18}, DEB18,
                    VT_SDBOOT_RULE_EFIVAR_DEFAULT, NULL);
        expect_pick(&e, "default @saved\n", &(vt_sdboot_vars){NULL, NULL, LAST_GOOD}, LAST_GOOD,
                    VT_SDBOOT_RULE_CONFIG_DEFAULT, NULL);
        expect_pick(&e, "default @saved\n", &(vt_sdboot_vars){NULL, "@saved", "nomatch"}, DEB21,
                    VT_SDBOOT_RULE_FIRST, NULL);
        esp_free(&e);
}

/* Entries the loader would not list are dropped before sorting and picking. */
static void test_dropped(void **state)
{
        _cleanup_sdboot_menu_ vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
        esp e = {0};

        (void)state;
        add(&e, DEB21, DEBIAN_ENTRY("6.1.0-21-amd64"), false); /* kernel removed */
        add(&e, DEB18, DEBIAN_ENTRY("6.1.0-18-amd64"), true);
        add(&e, "notes.txt", DEBIAN_ENTRY("6.1.0-99-amd64"), true);
        add(&e, "auto-x.conf", DEBIAN_ENTRY("6.1.0-98-amd64"), true);
        add(&e, "empty.conf", "title nothing to boot\n", true);
        add(&e, "arm.conf", "architecture aa64\nlinux /vmlinuz\n", true);
        add(&e, "x64.conf", "architecture x64\nsort-key zzz\nlinux /vmlinuz\n", true);
        expect_pick(&e, NULL, NULL, DEB18, VT_SDBOOT_RULE_FIRST, ORDER(DEB18, "x64.conf"));
        assert_int_equal(vt_sdboot_pick(e.in, e.n, NULL, 0, NULL, &m), 0);
        assert_int_equal(m.n_dropped, 5);
        assert_int_equal(m.dropped[0].input, 0);
        assert_int_equal(m.dropped[0].why, VT_SDBOOT_DROP_MISSING);
        assert_int_equal(m.dropped[1].why, VT_SDBOOT_DROP_NAME);
        assert_int_equal(m.dropped[2].why, VT_SDBOOT_DROP_NAME);
        assert_int_equal(m.dropped[3].why, VT_SDBOOT_DROP_NO_LOADER);
        assert_int_equal(m.dropped[4].why, VT_SDBOOT_DROP_ARCH);
        assert_string_equal(vt_sdboot_drop_name(m.dropped[0].why), "kernel file missing");
        esp_free(&e);
}

/* proxmox-boot-tool's entries (no sort-key, no machine-id) and loader.conf. */
static void test_proxmox(void **state)
{
        static const char conf[] = "timeout 3\ndefault proxmox-*\n";
        const vt_sdboot_vars armed = {NULL, "vfiotx-*", NULL};
        esp e = {0}, bad = {0};

        (void)state;
        add(&e, "proxmox-6.5.13-6-pve.conf", PROXMOX_ENTRY("6.5.13-6-pve"), true);
        add(&e, "proxmox-6.8.12-4-pve.conf", PROXMOX_ENTRY("6.8.12-4-pve"), true);
        add(&e, LAST_GOOD, LAST_GOOD_ENTRY, true);
        add(&e, "vfiotx-1-trial-7+2-1.conf", TRIAL_ENTRY, true);
        expect_pick(&e, conf, NULL, "proxmox-6.8.12-4-pve.conf", VT_SDBOOT_RULE_CONFIG_DEFAULT,
                    ORDER("vfiotx-1-trial-7+2-1.conf", LAST_GOOD, "proxmox-6.8.12-4-pve.conf",
                          "proxmox-6.5.13-6-pve.conf"));
        expect_pick(&e, conf, &armed, "vfiotx-1-trial-7+2-1.conf", VT_SDBOOT_RULE_EFIVAR_DEFAULT,
                    NULL);
        /* Pinned kernel (proxmox-boot-tool kernel pin): the exact id. */
        expect_pick(&e, "default proxmox-6.5.13-6-pve.conf\n", NULL, "proxmox-6.5.13-6-pve.conf",
                    VT_SDBOOT_RULE_CONFIG_DEFAULT, NULL);
        /* Old-style entries only and no `default`: the last good would boot by default (vfiotx
         * must refuse to arm there). */
        expect_pick(&e, "timeout 3\n", NULL, "vfiotx-1-trial-7+2-1.conf", VT_SDBOOT_RULE_FIRST,
                    NULL);

        add(&bad, "proxmox-6.8.12-4-pve.conf", PROXMOX_ENTRY("6.8.12-4-pve"), true);
        add(&bad, "vfiotx-1-trial-7+0-2.conf", TRIAL_ENTRY, true);
        add(&bad, LAST_GOOD, LAST_GOOD_ENTRY, true);
        expect_pick(&bad, conf, &armed, LAST_GOOD, VT_SDBOOT_RULE_EFIVAR_DEFAULT,
                    ORDER(LAST_GOOD, "proxmox-6.8.12-4-pve.conf", "vfiotx-1-trial-7+0-2.conf"));
        expect_pick(&bad, "timeout 3\n", NULL, LAST_GOOD, VT_SDBOOT_RULE_FIRST, NULL);
        esp_free(&e);
        esp_free(&bad);
}

/* The order's finer rules: sort-key, machine-id (none first), version, then the id (which
 * holds the counter, so 252's "more tries left first" only breaks ties between ids that
 * compare equal, and those are read with equal counters); equal entries keep their order. */
static void test_sort_details(void **state)
{
        esp e = {0};

        (void)state;
        add(&e, "b.conf", "sort-key os\nmachine-id bbb\nversion 2\nlinux /k\n", true);
        add(&e, "a.conf", "sort-key os\nmachine-id aaa\nversion 1\nlinux /k\n", true);
        add(&e, "c.conf", "sort-key os\nversion 9\nlinux /k\n", true);
        add(&e, "d.conf", "sort-key arch\nversion 1\nlinux /k\n", true);
        add(&e, "x+1-5.conf", "linux /k\n", true);
        add(&e, "x+2-7.conf", "linux /k\n", true);
        add(&e, "y+03.conf", "linux /k\n", true);
        add(&e, "x+2-1.conf", "linux /k\n", true);
        add(&e, "y+3.conf", "linux /k\n", true);
        expect_pick(&e, NULL, NULL, "d.conf", VT_SDBOOT_RULE_FIRST,
                    ORDER("d.conf", "c.conf", "a.conf", "b.conf", "y+03.conf", "y+3.conf",
                          "x+2-7.conf", "x+2-1.conf", "x+1-5.conf"));
        esp_free(&e);
}

static void test_nothing_to_boot(void **state)
{
        esp e = {0};
        _cleanup_sdboot_menu_ vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
        vt_sdboot_input broken = {NULL, NULL, true};

        (void)state;
        expect_pick(&e, "default x\n", &(vt_sdboot_vars){"x", "x", NULL}, NULL, VT_SDBOOT_RULE_NONE,
                    NULL);
        add(&e, "gone.conf", "linux /k\n", false);
        expect_pick(&e, NULL, NULL, NULL, VT_SDBOOT_RULE_NONE, NULL);
        assert_int_equal(vt_sdboot_pick(&broken, 1, NULL, 0, NULL, &m), -EINVAL);
        esp_free(&e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_strverscmp_vectors),
            cmocka_unit_test(test_strverscmp_oracle),
            cmocka_unit_test(test_match),
            cmocka_unit_test(test_debian_trial_lifecycle),
            cmocka_unit_test(test_debian_trial_exhausted),
            cmocka_unit_test(test_rule_order),
            cmocka_unit_test(test_dropped),
            cmocka_unit_test(test_proxmox),
            cmocka_unit_test(test_sort_details),
            cmocka_unit_test(test_nothing_to_boot),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
