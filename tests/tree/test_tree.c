/* The electrical-tree loader: the shipped examples load with the values the
 * draft gives, and every file in tests/tree/bad/ fails with exactly the
 * message its first line expects ("# expect: HR_ERR_X file:line:col: ..."). */
#define _POSIX_C_SOURCE 200809L /* opendir, chdir */

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/tree.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

#define SQRT3 1.7320508075688772

static hr_tree_t *load_example(const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/examples/trees/%s", HR_SOURCE_DIR, name);
  hr_tree_t *t = NULL;
  hr_diag_t e;
  int rc = hr_tree_load_file(path, &t, &e);
  if (rc != HR_OK) {
    print_error("%s\n", dtext(&e));
    fail();
  }
  return t;
}

static const hr_tree_node_t *node(const hr_tree_t *t, const char *id)
{
  size_t idx;
  assert_int_equal(hr_tree_find(t, id, &idx), HR_OK);
  const hr_tree_node_t *n = hr_tree_node(t, idx);
  assert_string_equal(n->id, id);
  return n;
}

static size_t index_of(const hr_tree_t *t, const char *id)
{
  size_t idx = 0;
  assert_int_equal(hr_tree_find(t, id, &idx), HR_OK);
  return idx;
}

/* Parents come first; child lists match parent links. */
static void check_structure(const hr_tree_t *t)
{
  size_t n = hr_tree_count(t), links = 0, listed = 0;
  for (size_t k = 0; k < n; k++) {
    const hr_tree_node_t *nd = hr_tree_node(t, k);
    assert_true(nd->parent < (int32_t)k && nd->parent_b < (int32_t)k);
    links += (nd->parent >= 0) + (nd->parent_b >= 0);
    size_t nc;
    const int32_t *ch = hr_tree_children(t, k, &nc);
    assert_int_equal(nc, nd->n_children);
    for (size_t j = 0; j < nc; j++) {
      const hr_tree_node_t *c = hr_tree_node(t, (size_t)ch[j]);
      assert_true(c->parent == (int32_t)k || c->parent_b == (int32_t)k);
      assert_true(ch[j] > (int32_t)k);
    }
    listed += nc;
    size_t idx;
    assert_int_equal(hr_tree_find(t, nd->id, &idx), HR_OK);
    assert_int_equal(idx, k);
  }
  assert_int_equal(links, listed);
}

static void rack_zone_a1(void **state)
{
  (void)state;
  hr_tree_t *t = load_example("rack-zone-a1.yaml");
  check_structure(t);
  assert_string_equal(hr_tree_name(t), "rack-zone-a1");
  assert_int_equal(hr_tree_count(t), 13);

  const hr_tree_node_t *main = node(t, "main-a1");
  assert_int_equal(main->parent, -1);
  assert_string_equal(main->name, "Zone A1 main breaker");
  assert_non_null(main->device);
  const hr_trip_unit_cfg_t *m = &main->device->u.tu;
  assert_int_equal(main->device->type, HR_DEVICE_TRIP_UNIT);
  assert_true(m->has_s && m->has_i && m->has_g);
  assert_true(m->in_a == 3000.0 && m->ir_a == 3000.0 && m->isd_a == 12000.0 && m->ii_a == 30000.0 &&
              m->ig_a == 1200.0 && m->tg_s == 0.4);

  /* Branch 800 A LSI; tokens 640 kW steady (80 %), 680 kW burst (85 %). */
  const hr_tree_node_t *br = node(t, "branch-a1");
  const hr_trip_unit_cfg_t *b = &br->device->u.tu;
  assert_true(b->has_s && b->has_i && !b->has_g && b->s_i2t);
  assert_true(br->rating_a == 800.0);
  assert_true(fabs(br->capacity_w - 800.0 * 600.0 * SQRT3) < 1e-6);
  assert_true(br->budget_w == 640e3 && br->burst_w == 680e3);
  assert_true(fabs(br->budget_w / br->capacity_w - 0.77) < 0.01);
  double i_steady = hr_tree_node_current_a(br, br->budget_w);
  double i_burst = hr_tree_node_current_a(br, br->burst_w);
  assert_true(fabs(i_steady - 615.84) < 0.01 && fabs(i_burst - 654.34) < 0.01);
  /* Neither level ever trips the branch breaker; 1.2 x burst does, in the
   * long-time band, in minutes. */
  hr_device_t *d;
  assert_int_equal(hr_device_create(br->device, &d), HR_OK);
  assert_true(isinf(hr_device_time_to_trip(d, i_steady)));
  assert_true(isinf(hr_device_time_to_trip(d, i_burst)));
  double t12 = hr_device_time_to_trip(d, 1.5 * i_burst);
  assert_true(t12 > 60.0 && t12 < 1800.0);
  hr_device_destroy(d);

  size_t nc;
  const int32_t *ch = hr_tree_children(t, index_of(t, "busway-a1"), &nc);
  assert_int_equal(nc, 5);
  assert_string_equal(hr_tree_node(t, (size_t)ch[0])->id, "rack-a1-01");
  const hr_tree_node_t *rack = node(t, "rack-a1-01");
  assert_int_equal(rack->device->type, HR_DEVICE_FUSE);
  assert_int_equal(rack->device->u.fuse.n_points, 6);
  assert_true(rack->capacity_w == 132e3 && rack->rating_a == 160.0);
  const hr_tree_node_t *gpu = node(t, "gpu-a1-01-01-3");
  assert_int_equal(gpu->kind, HR_NODE_GPU);
  assert_int_equal(gpu->depth, 5);
  assert_true(gpu->u_v == 600.0 && gpu->capacity_w == 1200.0 && gpu->device == NULL);
  hr_tree_destroy(t);
}

static void site_zones(void **state)
{
  (void)state;
  hr_tree_t *t = load_example("site-zones.yaml");
  check_structure(t);
  /* utility 50 MW > switchgear 10 MW > distribution 3 MW > branch 800 kW */
  const char *ids[] = {"utility", "swgr-1", "dist-1", "branch-1"};
  const double cap[] = {50e6, 10e6, 3e6, 800e3};
  for (int k = 0; k < 4; k++)
    assert_true(fabs(node(t, ids[k])->capacity_w - cap[k]) < 1e-6);
  const hr_tree_node_t *u = node(t, "utility");
  assert_non_null(u->grid);
  assert_true(u->grid->max_ramp_w_per_s == 50e6 && u->grid->max_p_w == 50e6);
  assert_int_equal(u->device->type, HR_DEVICE_RELAY);
  assert_int_equal(u->device->u.relay.curve, HR_CURVE_IEEE_VI);
  assert_true(u->device->u.relay.has_inst && u->device->u.relay.ii_a == 8000.0);
  assert_null(node(t, "swgr-1")->grid);
  assert_true(node(t, "xfmr-1")->u_v == 600.0 && node(t, "swgr-1")->u_v == 34500.0);
  assert_true(node(t, "rack-1")->device->u.fuse.cool_s == 120.0);
  assert_true(node(t, "rack-2")->device->u.fuse.cool_s == 60.0);
  size_t nc;
  const int32_t *ch = hr_tree_children(t, index_of(t, "branch-1"), &nc);
  assert_int_equal(nc, 2);
  assert_string_equal(hr_tree_node(t, (size_t)ch[1])->id, "rack-2");
  hr_tree_destroy(t);
}

static void small_2n(void **state)
{
  (void)state;
  hr_tree_t *t = load_example("2n-small.yaml");
  check_structure(t);
  assert_int_equal(hr_tree_redundancy(t), HR_REDUNDANCY_2N);
  const hr_tree_node_t *s1 = node(t, "srv-1"), *s2 = node(t, "srv-2");
  assert_int_equal(s1->parent, (int32_t)index_of(t, "rpdu-a1"));
  assert_int_equal(s1->parent_b, (int32_t)index_of(t, "rpdu-b1"));
  assert_int_equal(s1->feed, HR_FEED_AB);
  assert_int_equal(node(t, "pdu-a1")->feed, HR_FEED_A);
  assert_int_equal(node(t, "rpdu-b1")->feed, HR_FEED_B);
  assert_int_equal(node(t, "srv-2-gpu1")->feed, HR_FEED_AB);
  assert_int_equal(s1->n_phases, 1);
  assert_int_equal(s2->phase, HR_PHASE_B);
  assert_int_equal(s2->phase_b, HR_PHASE_C);
  assert_true(fabs(s1->u_v - 415.0 / SQRT3) < 1e-9);
  assert_true(fabs(hr_tree_node_current_a(s1, 3000.0) - 3000.0 / (415.0 / SQRT3)) < 1e-9);
  /* In_a of the PDU breaker defaults to the node's rating. */
  assert_true(node(t, "pdu-a1")->device->u.tu.in_a == 250.0);
  assert_true(node(t, "rpdu-a1")->device->u.fuse.in_a == 32.0);
  size_t nc;
  hr_tree_children(t, index_of(t, "rpdu-b1"), &nc);
  assert_int_equal(nc, 2);
  hr_tree_destroy(t);
}

/* ---- bad files --------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void bad_files_give_exact_messages(void **state)
{
  (void)state;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/tree", HR_SOURCE_DIR);
  assert_int_equal(chdir(dir), 0);
  DIR *dp = opendir("bad");
  assert_non_null(dp);
  char *names[256];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(dp)) != NULL && n < 256) {
    size_t l = strlen(de->d_name);
    if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0) {
      names[n] = malloc(l + 1);
      memcpy(names[n++], de->d_name, l + 1);
    }
  }
  closedir(dp);
  qsort(names, n, sizeof names[0], by_name);
  assert_true(n >= 50);
  int failures = 0;
  for (size_t k = 0; k < n; k++) {
    char path[300], line[1024], want[1024];
    snprintf(path, sizeof path, "bad/%s", names[k]);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    line[strcspn(line, "\n")] = '\0';
    assert_true(strncmp(line, "# expect: ", 10) == 0);
    snprintf(want, sizeof want, "%s", line + 10);
    hr_tree_t *t = (hr_tree_t *)1;
    hr_diag_t e;
    int rc = hr_tree_load_file(path, &t, &e);
    char got[1200];
    snprintf(got, sizeof got, "%s %s", hr_err_name(rc), dtext(&e));
    if (rc == HR_OK || t != NULL || strcmp(got, want) != 0 || e.code != rc) {
      print_error("%s\n  want: %s\n  got:  %s\n", path, want, got);
      failures++;
    }
    hr_tree_destroy(rc == HR_OK ? t : NULL);
    free(names[k]);
  }
  assert_int_equal(failures, 0);
}

static void error_parts_and_io(void **state)
{
  (void)state;
  hr_tree_t *t;
  hr_diag_t e;
  const char *text = "nodes:\n  - {id: a, kind: pdu, parent: b, voltage_v: 415}\n";
  assert_int_equal(hr_tree_load_buffer(text, strlen(text), NULL, &t, &e), HR_ERR_NOT_FOUND);
  assert_null(t);
  assert_int_equal(e.line, 2);
  assert_int_equal(e.column, 32);
  assert_string_equal(e.source, "<buffer>");
  assert_string_equal(e.field, "nodes[a].parent");
  assert_string_equal(e.message, "unknown node 'b'");
  assert_string_equal(dtext(&e), "<buffer>:2:32: nodes[a].parent: unknown node 'b'");
  /* The buffer need not be NUL-terminated: only len bytes are read. */
  char buf[64];
  memcpy(buf, "nodes: [{id: r, kind: rack, parent: null, voltage_v: 4", 54);
  memset(buf + 54, 'x', sizeof buf - 54);
  assert_int_equal(hr_tree_load_buffer(buf, 54, "buf", &t, &e), HR_ERR_PARSE);
  assert_int_equal(hr_tree_load_buffer(buf, 54, "buf", NULL, &e), HR_ERR_INVALID_ARG);

  assert_int_equal(hr_tree_load_file("/nonexistent/tree.yaml", &t, &e), HR_ERR_IO);
  assert_string_equal(dtext(&e),
                      "/nonexistent/tree.yaml: (file): cannot open: No such file or directory");
  assert_int_equal(e.line, 0);
}

static void order_and_depth_of_any_file_order(void **state)
{
  (void)state;
  /* A chain written leaves first, 20000 deep: the search is iterative and
   * the result is parents-first. */
  enum { N = 20000 };
  size_t cap = (size_t)N * 64 + 128, len = 0;
  char *text = malloc(cap);
  len += (size_t)snprintf(text + len, cap - len, "nodes:\n");
  for (int k = N - 1; k >= 1; k--)
    len += (size_t)snprintf(text + len, cap - len, "  - {id: n%d, kind: pdu, parent: n%d}\n", k,
                            k - 1);
  len += (size_t)snprintf(text + len, cap - len,
                          "  - {id: n0, kind: utility, parent: null, voltage_v: 415}\n");
  hr_tree_t *t;
  hr_diag_t e;
  int rc = hr_tree_load_buffer(text, len, "chain", &t, &e);
  if (rc != HR_OK)
    print_error("%s\n", dtext(&e));
  assert_int_equal(rc, HR_OK);
  assert_int_equal(hr_tree_count(t), N);
  for (size_t k = 0; k < N; k++) {
    char id[16];
    snprintf(id, sizeof id, "n%zu", k);
    assert_string_equal(hr_tree_node(t, k)->id, id);
    assert_int_equal(hr_tree_node(t, k)->depth, (int32_t)k);
  }
  assert_int_equal(hr_tree_node(t, N - 1)->line, 2);
  assert_null(hr_tree_node(t, N));
  size_t idx;
  assert_int_equal(hr_tree_find(t, "n20000", &idx), HR_ERR_NOT_FOUND);
  hr_tree_destroy(t);
  free(text);
}

static void device_parse(void **state)
{
  (void)state;
  hr_device_cfg_t c;
  hr_diag_t e;
  const char *r = "{type: relay, curve: ieee_vi, is_a: 100, tms: 1, reset: instant}";
  assert_int_equal(hr_tree_device_parse(r, strlen(r), &c, &e), HR_OK);
  assert_int_equal(c.u.relay.reset, HR_RESET_INSTANT);
  assert_true(fabs(hr_device_trip_time(&c, 200.0) - 7.0277) < 1e-3);
  const char *tu = "type: trip_unit\ncurve: lsi\nin_a: 630\nir_a: 500\ntr_s: 4\nisd_a: 3000\n"
                   "tsd_s: 0.1\nii: 8\nmemory: off\npost_trip: 1\nl_pickup: 1.2\n";
  assert_int_equal(hr_tree_device_parse(tu, strlen(tu), &c, &e), HR_OK);
  assert_true(c.u.tu.ir_a == 500.0 && c.u.tu.isd_a == 3000.0 && c.u.tu.ii_a == 8 * 630.0);
  assert_true(c.u.tu.memory == 0 && c.u.tu.post_trip == 1.0 && c.u.tu.l_pickup == 1.2);
  const char *f = "{type: fuse, melt: [[200, 10], [400, 1]]}";
  assert_int_equal(hr_tree_device_parse(f, strlen(f), &c, &e), HR_ERR_PARSE);
  assert_string_equal(dtext(&e), "<device>:1:1: device.in_a: missing (and the node has no rating_a "
                                 "to take it from)");
  const char *g = "{type: fuse, in_a: 100, melt: [[200, 10], [400, 1]], cool_s: 0, ir: 1}";
  assert_int_equal(hr_tree_device_parse(g, strlen(g), &c, &e), HR_ERR_PARSE);
  assert_string_equal(dtext(&e), "<device>:1:65: device.ir: unknown key for a fuse device");
}

static void numbers_ignore_the_process_locale(void **state)
{
  (void)state;
  /* A process in a comma-decimal locale must read "0.3" as 0.3. */
  const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
  if (!loc)
    loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
  if (!loc)
    skip();
  hr_tree_t *t = load_example("rack-zone-a1.yaml");
  assert_true(node(t, "main-a1")->device->u.tu.tsd_s == 0.3);
  hr_tree_destroy(t);
  setlocale(LC_NUMERIC, "C");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rack_zone_a1),
      cmocka_unit_test(site_zones),
      cmocka_unit_test(small_2n),
      cmocka_unit_test(error_parts_and_io),
      cmocka_unit_test(order_and_depth_of_any_file_order),
      cmocka_unit_test(device_parse),
      cmocka_unit_test(numbers_ignore_the_process_locale),
      cmocka_unit_test(bad_files_give_exact_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
