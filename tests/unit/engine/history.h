/* The history the operation tests start from, on a temporary root: /etc/modules "old\n"
 * recorded as transaction 1 (the baseline, the good snapshot) and "new\n" imported as
 * transaction 2, with the rebuild left pending. */
#pragma once

#include "../helpers.h"

#include "engine/op_restore.h"

static inline void two_transactions(const vt_op_env *env)
{
        vt_op_restore_req req = {
            .kind = "import", .summary = "test", .yes = true, .no_rebuild = true};
        vt_op_restore_result res;
        vt_snapshot target = {0};
        vt_engine e;

        write_file(env->root, "etc/modules", "old\n");
        assert_int_equal(vt_op_open(&e, env, VT_ENGINE_WRITE, NULL), 0);
        assert_int_equal(vt_snapshot_put(&target, "/etc/modules", "new\n", 4, NULL), 0);
        assert_int_equal(vt_op_restore(&e, env, NULL, &target, &req, &res), 0);
        assert_int_equal(res.txn, 2);
        vt_snapshot_free(&target);
        vt_engine_close(&e);
}
