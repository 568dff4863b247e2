// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: memlens diff's input reader on any bytes (a file someone
 * handed over), and memlens report's page of whatever it accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diff_doc.h"
#include "report.h"

/* the page of an accepted stream: its data block holds no '<' (no name can
 * end it or open markup), and the page has its three scripts, no more */
static void check_page(const struct doc *v, size_t n)
{
	static const char tag[] = "<script type=\"application/json\" id=\"memlens-data\">";
	struct report r = { 0 };
	char *page = NULL, *data, *end, *p;
	size_t len = 0, scripts = 0;
	FILE *f = open_memstream(&page, &len);

	if (!f)
		return;
	if (report_from_docs(&r, v, n) || report_html(&r, f)) {
		fclose(f);
		free(page);
		report_free(&r);
		return;	/* out of memory */
	}
	fclose(f);
	report_free(&r);
	data = strstr(page, tag);
	end = data ? strstr(data + sizeof(tag) - 1, "</script>") : NULL;
	if (!end || memchr(data + sizeof(tag) - 1, '<', (size_t)(end - data) - (sizeof(tag) - 1)))
		abort();
	for (p = page; (p = strstr(p, "</script>")); p++)
		scripts++;
	if (scripts != 3)
		abort();
	free(page);
}

/* an accepted document: sorted, every row whole */
static void check(const struct doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->p[i].comm || d->p[i].pid <= 0 || (i && diff_cmp_proc(&d->p[i - 1], &d->p[i]) >= 0))
			abort();
		for (int k = 0; k < Q_N; k++)
			if (d->p[i].v[k] < 0)
				abort();
	}
	for (size_t i = 0; i < d->nk; i++)
		if (!d->k[i].exporter || !d->k[i].name)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc d, *v;
	size_t n;

	if (doc_parse((const char *)data, size, "fuzz", &d) == 0) {
		check(&d);
		doc_free(&d);
	} else if (d.p || d.k || d.n || d.nk) {
		abort();	/* refused: nothing half-kept */
	}
	/* the same bytes as a stream (diff STREAM): each document whole, one
	 * boot, in time order */
	if (doc_parse_stream((const char *)data, size, "fuzz", &v, &n) == 0) {
		const char *boot = "";
		double up = -1;

		if (!n)
			abort();
		/* every named boot the same, every given time at or after the last */
		for (size_t i = 0; i < n; i++) {
			check(&v[i]);
			if ((v[i].uptime >= 0 && v[i].uptime < up) ||
			    (v[i].boot_id[0] && boot[0] && strcmp(v[i].boot_id, boot)))
				abort();
			if (v[i].uptime >= 0)
				up = v[i].uptime;
			if (v[i].boot_id[0])
				boot = v[i].boot_id;
			/* the time is printed again: RFC 3339's characters only */
			if (v[i].time[strspn(v[i].time, "0123456789-:.TZ+")])
				abort();
		}
		check_page(v, n);
		/* first against last, each row's growth counted over the stream
		 * (--grew-in): at most the stream's intervals */
		if (n >= 2) {
			struct diff_req q = { .sort_f = Q_PSS, .grew_in = 1, .stream = v, .nstream = n };
			struct diff_res r = { 0 };

			if (diff_merge(&v[0], &v[n - 1], &q, &r) == 0)
				for (size_t i = 0; i < r.nr; i++)
					if (r.rows[i].grew < 1 || r.rows[i].grew > (int64_t)n - 1)
						abort();
			diff_res_free(&r);
		}
		for (size_t i = 0; i < n; i++)
			doc_free(&v[i]);
		free(v);
	} else if (v || n) {
		abort();
	}
	return 0;
}
