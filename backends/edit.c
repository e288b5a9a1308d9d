#include "backends/edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vt_file_out_free(vt_file_out *f)
{
        vt_buf_free(&f->data);
        f->present = false;
}

bool vt_file_out_changed(const vt_file_out *f, const vt_buf *cur)
{
        if (!f->present)
                return cur != NULL;
        return !cur || !vt_buf_equal(&f->data, cur);
}

int vt_strv_push(vt_strv *v, const char *s)
{
        char **items;
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        items = realloc(v->items, (v->n + 1) * sizeof(*items));
        if (!items) {
                free(copy);
                return -ENOMEM;
        }
        items[v->n++] = copy;
        v->items = items;
        return 0;
}

bool vt_strv_contains(const vt_strv *v, const char *s)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i], s) == 0)
                        return true;
        return false;
}

void vt_strv_free(vt_strv *v)
{
        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        free(v->items);
        v->items = NULL;
        v->n = 0;
}
