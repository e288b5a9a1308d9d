/* Lexer for the POSIX sh fragments vfiotx reads: /etc/default/grub and its grub.d drop-ins,
 * which grub-mkconfig sources with /bin/sh.
 *
 * It splits the text into statements, one logical line each: the words and operator characters
 * up to the next newline that is not inside quotes or a nested construct. It expands nothing
 * and runs nothing; a word is the span of source bytes sh would read as one word, quotes and
 * all, so the caller can edit the bytes in place. What it follows to find where a word ends:
 * '...' , "..." (with $(...), ${...} and `...` inside), `...`, $(...) and ${...} (nested, with
 * quotes inside), a backslash before any byte, '#' comments at the start of a word, and a CR
 * before the newline (or the end) of a line, which belongs to the line ending. The operator
 * characters are ; & | ( ) < > (one token each: "&&" is two '&' tokens).
 *
 * Contract: pure (no I/O). Statements point into the caller's text by offset. Returns 0, -ENOMEM
 * (with a message), or -EINVAL for text it cannot read: a here-document ("<<", whose body is not
 * shell syntax), a quote or substitution never closed, or nesting deeper than
 * VT_SH_MAX_NESTING. For -EINVAL no message is set: `err` says where and what, and the caller
 * words the message (it knows the file's name and what the user should do). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Nested $( ` " ${ deeper than this is not a fragment vfiotx should read. */
#define VT_SH_MAX_NESTING 32

typedef struct vt_sh_token {
        size_t start, end; /* the token's bytes: [start, end) of the text */
        char op;           /* 0 for a word, else the operator character */
} vt_sh_token;

typedef struct vt_sh_statement {
        vt_sh_token *t;
        size_t n, cap;
} vt_sh_statement;

typedef struct vt_sh_error {
        size_t off;       /* where: the start of the word whose quote is never closed, the '<' */
        const char *what; /* static text: "a here-document" */
} vt_sh_error;

/* Read the statement at *pos into st (replacing its tokens) up to and including its unquoted
 * newline; *pos moves past it. A statement may be empty (a blank or comment line). Call again
 * while *pos < len. */
int vt_sh_lex_statement(const char *s, size_t len, size_t *pos, vt_sh_statement *st,
                        vt_sh_error *err);
void vt_sh_statement_free(vt_sh_statement *st);

/* sh's names: [A-Za-z_][A-Za-z0-9_]*. */
bool vt_sh_is_name_start(char c);
bool vt_sh_is_name_char(char c);

/* Is the token the word `text`, byte for byte (unquoted: "if" but not "'if'")? */
bool vt_sh_token_is(const char *s, const vt_sh_token *t, const char *text);
/* The length of NAME when the token is a NAME=... assignment word, else 0. */
size_t vt_sh_assignment_name(const char *s, const vt_sh_token *t);
/* Is the token a bare name (as after `export`)? */
bool vt_sh_is_identifier(const char *s, const vt_sh_token *t);
