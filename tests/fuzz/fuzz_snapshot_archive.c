/* Fuzz the snapshot archive reader (what `vfiotx import` reads from a user-supplied file). */
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "engine/snapshot_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vt_snapshot s = {0};

        if (vt_snapshot_archive_read(data, size, "fuzz", &s) >= 0)
                vt_snapshot_free(&s);
        vt_error_clear();
        return 0;
}
