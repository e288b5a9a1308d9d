/* Writing GRUB's environment block in place (grubenv_store.h). */
#include "engine/grubenv_store.h"

#include "common/buf.h"
#include "fs/atomic_file.h"

int vt_grubenv_store(const vt_root *root, const vt_grubenv *env)
{
        return vt_grubenv_store_at(root, VT_GRUBENV_PATH, env);
}

int vt_grubenv_store_at(const vt_root *root, const char *path, const vt_grubenv *env)
{
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        int r;

        r = vt_grubenv_format(env, &data);
        if (r < 0)
                return r;
        /* In place, in the blocks GRUB found at boot: GRUB's save_env writes there too, and a
         * new inode would be invisible to GRUB until the journal is written back. */
        return vt_write_in_place(root, path, data.ptr, data.len);
}
