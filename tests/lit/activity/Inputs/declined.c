/* An activity failing with a kind declared in Weft (`error PaymentDeclined`):
 * the kind is the C symbol weft_kind_PaymentDeclined. */
#include <weft.h>

extern const weft_errkind weft_kind_PaymentDeclined;

void declined(weft_act a, const char *card) {
  weft_failf(a, &weft_kind_PaymentDeclined, "card %s declined", card);
}
