/* engine/op_devices: every device of a fixture host with its verdict, the host facts the
 * verdicts rest on, and an unreadable PCI tree as an error. The listing itself is compared
 * with lspci on the same trees by tests/cli/test_devices.sh. */
#include "../helpers.h"

#include "common/error.h"
#include "engine/op_devices.h"

/* The verdict codes of one device, each once, as "root-disk,boot-disk" ("" when ok). */
static const char *codes(const vt_op_devices_result *res, const char *bdf)
{
        static char out[128];

        out[0] = '\0';
        for (size_t i = 0; i < res->devs->n; i++) {
                if (strcmp(res->devs->items[i].bdf, bdf) != 0)
                        continue;
                for (size_t j = 0; j < res->verdicts[i].n; j++) {
                        const char *name = vt_refusal_code_name(res->verdicts[i].items[j].code);
                        char word[40];

                        snprintf(word, sizeof(word), ",%s,", name);
                        if (!strstr(out, word))
                                snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s,",
                                         out[0] ? "" : ",", name);
                }
                if (out[0]) { /* ",a,b," -> "a,b" */
                        memmove(out, out + 1, strlen(out));
                        out[strlen(out) - 1] = '\0';
                }
                return out;
        }
        fail_msg("%s is not listed", bdf);
        return NULL;
}

static void test_devices(void **state)
{
        char *sys = fixture_path("intel-igpu-desktop", "sys"),
             *proc = fixture_path("intel-igpu-desktop", "proc"), pcidir[4096];
        vt_op_env env = {.root = "/nonexistent", .sysfs = sys, .proc = proc};
        vt_op_devices_result res;
        bool root_disk = false;

        (void)state;
        assert_int_equal(vt_op_devices(&env, &res), 0);
        snprintf(pcidir, sizeof(pcidir), "%s/bus/pci/devices", sys);
        assert_int_equal(res.devs->n, count_entries(pcidir));
        for (size_t i = 1; i < res.devs->n; i++)
                assert_true(strcmp(res.devs->items[i - 1].bdf, res.devs->items[i].bdf) < 0);
        assert_string_equal(codes(&res, "0000:00:02.0"), "");
        assert_string_equal(codes(&res, "0000:00:17.0"), "root-disk,boot-disk");
        assert_string_equal(codes(&res, "0000:00:1f.6"), "default-route,group");
        /* the GTX 1050 Ti and its HDMI audio are one card: no refusal, passed together */
        assert_string_equal(codes(&res, "0000:01:00.0"), "");
        {
                size_t i = (size_t)(vt_pci_find(res.devs, "0000:01:00.0") - res.devs->items);

                assert_int_equal(res.units[i].n, 2);
                assert_string_equal(res.units[i].items[1]->bdf, "0000:01:00.1");
        }
        for (size_t i = 0; i < res.host->n; i++)
                root_disk |= res.host->deps[i].role == VT_ROLE_ROOT_DISK &&
                             strcmp(res.host->deps[i].bdf, "0000:00:17.0") == 0;
        assert_true(root_disk);
        vt_op_devices_result_free(&res);

        env.sysfs = "/nonexistent";
        assert_true(vt_op_devices(&env, &res) < 0);
        assert_non_null(vt_error_message());
        vt_error_clear();
        vt_op_devices_result_free(&res);
        free(sys);
        free(proc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_devices),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
