/* The header can be included twice, by itself, in strict C99 and C11. */
#include "catbox.h"
#include "catbox.h"

int main(void) {
    catbox_config *c = catbox_config_new();
    catbox_config_free(c);
    return CATBOX_OK;
}
