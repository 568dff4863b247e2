// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one choice of source: for every job, AUTO picks the first usable source
 * of the order the library lists (memlens_job__sources), forcing an unusable
 * source says so, a source of another job is refused, and `memlens features`
 * prints the same order and choice the library gives (it keeps none of its
 * own).  Also the API conventions every entry point follows: options checked
 * like libbpf's OPTS_VALID, and _get past the end is NULL with errno ERANGE.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "memlens.h"
#include "tap.h"

/* "VALUE ORDER" of a job row of `memlens features -J`, by jq */
static int features_row(const char *job, char *value, size_t vlen, char *order, size_t olen)
{
	char cmd[512];
	FILE *f;
	int ok_ = -1;

	snprintf(cmd, sizeof(cmd), "%s/memlens features -J | jq -r '.features[] | select(.section==\"job\" and .name==\"%s\") | "
		 ".value + \" \" + .order'", getenv("MEMLENS_BUILD") ? getenv("MEMLENS_BUILD") : "build", job);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%63s %255s", value, order) == 2)
		ok_ = 0;
	(void)vlen;
	(void)olen;
	pclose(f);
	return ok_;
}

static void check_job(struct memlens *ml, enum memlens_job job)
{
	enum memlens_source order[16], want = MEMLENS_SOURCE_AUTO, got = MEMLENS_SOURCE_AUTO, back;
	size_t n = memlens_job__sources(job, order, 16);
	const char *jn = memlens_job__name(job);
	char joined[256] = "", value[64] = "", cli_order[256] = "";
	size_t o = 0;

	if (!ok(n >= 2 && n <= 16, "%s: the library lists %zu sources", jn, n))
		return;
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", i ? "," : "", memlens_source__name(order[i]));
		if (want == MEMLENS_SOURCE_AUTO && memlens__source_usable(ml, order[i]) == 0)
			want = order[i];
		ok(memlens_source__parse(job, memlens_source__name(order[i]), &back) == 0 && back == order[i],
		   "%s: source '%s' parses back to itself", jn, memlens_source__name(order[i]));
		ok(memlens__source_reason(ml, order[i])[0] != 0, "%s: %s says why: %s", jn, memlens_source__name(order[i]),
		   memlens__source_reason(ml, order[i]));
	}
	if (want == MEMLENS_SOURCE_AUTO)
		want = order[n - 1];	/* the last resort */
	ok(memlens__select(ml, job, MEMLENS_SOURCE_AUTO, &got) == 0, "%s: AUTO selects", jn);
	if (!is_str(memlens_source__name(got), memlens_source__name(want), "%s: AUTO takes the first usable of %s", jn, joined))
		printf("#   %s\n", memlens__explain(ml, job, got, false));
	for (size_t i = 0; i < n; i++) {
		int usable = memlens__source_usable(ml, order[i]) == 0, err;

		err = memlens__select(ml, job, order[i], &got);
		ok(usable ? err == 0 && got == order[i] : err == -EOPNOTSUPP && errno == EOPNOTSUPP,
		   "%s: forcing %s gives %s (got %d)", jn, memlens_source__name(order[i]), usable ? "it" : "-EOPNOTSUPP", err);
	}
	/* a source no job of this kind reads */
	for (int s = 1; s < __MEMLENS_SOURCE_MAX; s++) {
		bool mine = false;

		for (size_t i = 0; i < n; i++)
			mine |= order[i] == (enum memlens_source)s;
		if (!mine) {
			ok(memlens__select(ml, job, (enum memlens_source)s, &got) == -EINVAL,
			   "%s: forcing %s (another job's source) is -EINVAL", jn, memlens_source__name(s));
			break;
		}
	}
	if (ok(features_row(jn, value, sizeof(value), cli_order, sizeof(cli_order)) == 0, "%s: features -J has its row", jn)) {
		is_str(cli_order, joined, "%s: features prints the library's order", jn);
		is_str(value, memlens_source__name(want), "%s: features prints the library's choice", jn);
	}
}

struct big_opts {		/* struct memlens_maps_opts as a newer caller would know it */
	struct memlens_maps_opts known;
	long newer_field;
};

static void check_conventions(struct memlens *ml)
{
	struct memlens_proc *p = memlens__proc_open(ml, 0, NULL);
	struct memlens_vma_set *set = NULL;
	struct big_opts big;
	int err;

	if (!ok(p != NULL, "open ourselves"))
		return;
	memset(&big, 0, sizeof(big));
	big.known.sz = sizeof(big);
	err = memlens_proc__maps(p, &big.known, &set);
	ok(err == 0, "options of a newer caller with its new field zero: accepted (%d)", err);
	if (!err) {
		is_u64((uintptr_t)memlens_vma_set__get(set, memlens_vma_set__count(set)), 0, "_get past the end: NULL");
		is_u64(errno, ERANGE, "... and errno ERANGE");
		memlens_vma_set__get(NULL, 0);
		is_u64(errno, EINVAL, "_get of NULL: errno EINVAL");
	}
	memlens_vma_set__free(set);
	set = NULL;
	big.newer_field = 1;
	err = memlens_proc__maps(p, &big.known, &set);
	ok(err == -EINVAL && errno == EINVAL && !set, "a non-zero field this library does not know: -EINVAL (%d)", err);
	big.known.sz = 2;
	ok(memlens_proc__maps(p, &big.known, &set) == -EINVAL, "options smaller than their size field: -EINVAL");
	/* a struct grown in place: a v2 caller's new bool in what is tail
	 * padding to this library (memlens_maps_opts: build_ids ends at 9 of
	 * 16), sz unchanged since sizeof is */
	{
		struct maps_opts_v2 {
			size_t sz;
			bool build_ids;
			bool newer;	/* offset 9, inside this library's sizeof */
			size_t :0;
		} v2;

		_Static_assert(sizeof(v2) == sizeof(struct memlens_maps_opts), "v2 grows in the padding");
		memset(&v2, 0, sizeof(v2));
		v2.sz = sizeof(v2);
		v2.newer = true;
		ok(memlens_proc__maps(p, (struct memlens_maps_opts *)&v2, &set) == -EINVAL && !set,
		   "a v2 field in the tail padding, set: -EINVAL, not silently ignored");
		v2.newer = false;
		err = memlens_proc__maps(p, (struct memlens_maps_opts *)&v2, &set);
		ok(err == 0, "... and left zero: accepted (%d)", err);
		memlens_vma_set__free(set);
		set = NULL;
	}
	memlens_proc__close(p);
	{
		MEMLENS_OPTS(memlens_proc_opts, po, .source = MEMLENS_SOURCE_DMABUF_PROCFS);

		ok(!memlens__proc_open(ml, 0, &po) && errno == EINVAL, "a process opened with a DMA-BUF source: EINVAL");
	}
}

/*
 * memlens_opts.threads = 1: no thread of the library's.  In a child whose
 * clone() and clone3() fail (seccomp, EPERM for both; fork is clone too, so
 * nothing here forks), a snapshot of this process and a DMA-BUF pass must
 * still answer with threads 1, and the default (a watched reader thread)
 * must fail: so the knob is what made the difference.  The exit code says:
 * bit 0 the threads-1 snapshot failed, bit 1 its DMA-BUF pass, bit 2 the
 * default snapshot succeeded, 8 the filter could not be set.
 */
static int no_clone_child(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	MEMLENS_OPTS(memlens_opts, one, .threads = 1);
	MEMLENS_OPTS(memlens_opts, dflt);
	int32_t self = getpid();
	MEMLENS_OPTS(memlens_snapshot_opts, so, .pids = &self, .npids = 1, .dmabuf = true);
	struct memlens *ml1 = memlens__new(&one), *ml0 = memlens__new(&dflt);
	struct memlens_snapshot *s = NULL;
	int rc = 0;

	if (!ml1 || !ml0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 8;
	if (memlens__snapshot(ml1, &so, &s) || memlens_snapshot__count(s) != 1 || memlens_snapshot__get(s, 0)->pss == 0)
		rc |= 1;
	if (s && memlens_snapshot__dmabuf_error(s))
		rc |= 2;
	memlens_snapshot__free(s);
	s = NULL;
	if (!memlens__snapshot(ml0, &so, &s))
		rc |= 4;
	memlens_snapshot__free(s);
	return rc;
}

static void check_threads(void)
{
	int st = 0;
	pid_t c = fork();

	if (c == 0)
		_exit(no_clone_child());
	waitpid(c, &st, 0);
	if (!ok(WIFEXITED(st) && WEXITSTATUS(st) != 8, "threads: a child whose clone() fails (seccomp) (status %#x)", st))
		return;
	ok(!(WEXITSTATUS(st) & 1), "threads 1: a snapshot answers with no thread of the library's");
	ok(!(WEXITSTATUS(st) & 2), "threads 1: ... its DMA-BUF pass too");
	ok(!(WEXITSTATUS(st) & 4), "threads 0 (default): the same snapshot needs its reader thread (so the knob made the difference)");
}

int main(void)
{
	struct memlens *ml = memlens__new(NULL);

	if (!ok(ml != NULL, "context"))
		return tap_done();
	for (int j = 0; j < __MEMLENS_JOB_MAX; j++)
		check_job(ml, (enum memlens_job)j);
	check_conventions(ml);
	check_threads();
	memlens__free(ml);
	return tap_done();
}
