/* Meters a CSV file of single-phase samples (u1_v,i1_a at 8 kHz, 60 Hz,
 * 277 V nominal, as `headroom gen dip --layout 1p2w --format csv` writes)
 * and prints each power-quality event.  Uses only the installed API:
 *
 *   cc meter_events.c $(pkg-config --cflags --libs headroom) -o meter_events
 *   ./meter_events samples.csv
 *
 * Exit status: 0 with at least one event, 1 with none, 2 on an error. */
#include <inttypes.h>
#include <stdio.h>

#include <headroom/headroom.h>

static void on_record(const hr_record_t *rec, void *user)
{
  int *n_events = user;
  if (rec->kind != HR_REC_EVENT)
    return;
  const hr_event_rec_t *e = &rec->u.event;
  if (!e->ended)
    return; /* the start notice; the end carries the final figures */
  printf("%-12s start %.3f s  duration %.3f s  extreme %.1f V  depth %.1f %%\n",
         hr_event_type_name(e->type), (double)e->start_ns / 1e9, (double)e->duration_ns / 1e9,
         e->extreme, e->depth_pct);
  (*n_events)++;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: meter_events FILE.csv\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  hr_meter_cfg_t mc;
  hr_meter_cfg_init(&mc, 8000.0, 60.0, 277.0, HR_LAYOUT_1P2W);
  mc.records = HR_RECMASK(HR_REC_EVENT);
  hr_reader_cfg_t rc;
  hr_reader_cfg_init(&rc, HR_FMT_CSV, 2);
  rc.name = argv[1]; /* errors then read "file:line:column: why" */
  hr_meter_t *m = NULL;
  hr_reader_t *r = NULL;
  int err = hr_meter_create(&mc, &m);
  if (err == HR_OK)
    err = hr_reader_create(&rc, &r);
  if (err != HR_OK) {
    fprintf(stderr, "meter_events: %s\n", hr_strerror(err));
    fclose(f);
    hr_meter_destroy(m);
    return 2;
  }
  int n_events = 0;
  hr_meter_set_callback(m, on_record, &n_events);
  static unsigned char buf[1 << 16];
  static float frames[8192 * 2];
  size_t n, nf, used;
  while (err == HR_OK && (n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t off = 0; err == HR_OK && off < n; off += used) {
      err = hr_reader_push(r, buf + off, n - off, frames, 8192, &nf, &used);
      if (hr_meter_push(m, frames, nf, NULL) != HR_OK && err == HR_OK)
        err = HR_ERR_STATE;
    }
  }
  if (err == HR_OK && (err = hr_reader_finish(r, frames, 8192, &nf)) == HR_OK)
    err = hr_meter_push(m, frames, nf, NULL);
  if (err == HR_OK)
    err = hr_meter_finish(m);
  if (err != HR_OK) {
    /* A reader error says where; any other failure is its code alone. */
    hr_diag_t why;
    char text[600];
    if (hr_reader_diag(r, &why) == HR_OK)
      snprintf(text, sizeof text, "%s: %s", argv[1], hr_strerror(err));
    else
      hr_diag_format(&why, text, sizeof text);
    fprintf(stderr, "meter_events: %s\n", text);
  }
  fclose(f);
  hr_reader_destroy(r);
  hr_meter_destroy(m);
  if (err != HR_OK)
    return 2;
  printf("%d event(s)\n", n_events);
  return n_events > 0 ? 0 : 1;
}
