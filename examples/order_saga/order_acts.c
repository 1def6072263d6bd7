/* order_acts.c -- the C side of order.weft: activities with the ABI of
 * weft.h. A call handle (weft_act) comes first, then the arguments mapped
 * from their Weft types (str -> const char *, int -> int64_t). */
#include <weft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* `error X` in Weft is the symbol weft_kind_X */
extern const weft_errkind weft_kind_OutOfStock, weft_kind_PaymentDeclined;

/* ---- reserve_stock: asynchronous, answers 20 ms later from a libuv timer */

typedef struct Reservation {
  uv_timer_t timer;
  weft_act call;
  char item[32];
  int64_t qty;
} Reservation;

static int next_id = 100;

static void reservation_free(uv_handle_t *h) { free(h->data); }

static void reservation_answer(uv_timer_t *t) {
  Reservation *r = t->data;
  if (r->qty > 10) {
    weft_failf(r->call, &weft_kind_OutOfStock, "only 10 %s left, %lld wanted", r->item, (long long)r->qty);
  } else {
    char id[32];
    snprintf(id, sizeof id, "R%d", next_id++);
    printf("  reserved %lld x %s as %s\n", (long long)r->qty, r->item, id);
    weft_complete_str(r->call, id);
  }
  uv_close((uv_handle_t *)t, reservation_free);
}

/* Cancelled (the 2 s timeout won, or the program got SIGINT): stop the
 * timer; the call is over, it must not complete any more. */
static void reservation_cancel(weft_act a, void *data) {
  (void)a;
  Reservation *r = data;
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, reservation_free);
}

void reserve_stock(weft_act a, const char *item, int64_t qty) {
  Reservation *r = calloc(1, sizeof *r);
  r->call = a;
  r->qty = qty;
  snprintf(r->item, sizeof r->item, "%s", item);
  uv_timer_init(weft_act_loop(a), &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, reservation_answer, 20, 0);
  weft_act_on_cancel(a, reservation_cancel, r);
}

void release_stock(weft_act a, const char *reservation) {
  printf("  released %s\n", reservation);
  weft_complete(a);
}

/* ---- charge_card: blocking (runs on a pool thread, may block) */

void charge_card(weft_act a, const char *card, int64_t cents) {
  usleep(30 * 1000); /* the payment provider thinks */
  size_t n = strlen(card);
  if (n >= 4 && strcmp(card + n - 4, "0002") == 0) {
    weft_failf(a, &weft_kind_PaymentDeclined, "card %s declined for %lld.%02lld EUR", card,
               (long long)(cents / 100), (long long)(cents % 100));
    return;
  }
  char id[48];
  snprintf(id, sizeof id, "P-%s-%lld", card + (n >= 4 ? n - 4 : 0), (long long)cents);
  printf("  charged %lld cents as %s\n", (long long)cents, id);
  weft_complete_str(a, id);
}

void refund(weft_act a, const char *payment) {
  printf("  refunded %s\n", payment);
  weft_complete(a);
}

/* ---- ship: synchronous */

void ship(weft_act a, const char *order, const char *item) {
  char tracking[64];
  snprintf(tracking, sizeof tracking, "TRK-%s-%s", order, item);
  weft_complete_str(a, tracking);
}
