// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse_stall MNTDIR [UID]: a process that parks its own mmap lock.
 *
 * Mounts a FUSE file system on MNTDIR, served here over raw /dev/fuse (no
 * libfuse), with one file "f" whose reads are never answered.  A victim
 * process (as UID, default 65534) maps f; its first thread reads that page
 * through /proc/self/mem, so the kernel faults it in with the victim's mmap
 * lock held for read and waits for the READ forever; its second thread then
 * calls mmap(), which waits for the lock as a writer.  From then on every
 * reader of that lock waits too: smaps, smaps_rollup, cmdline, pagemap.
 *
 * Prints "VICTIM_PID\n" once the writer waits, then serves until stdin
 * closes or SIGTERM: then the victim is killed, /dev/fuse closed (which
 * ends the READ) and the mount detached.  Needs root (mount).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (1 << 20)

static int fuse_fd;
static volatile sig_atomic_t stop;

static void die(const char *what)
{
	fprintf(stderr, "fuse_stall: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void reply(uint64_t unique, int error, const void *data, size_t len)
{
	char buf[4096];
	struct fuse_out_header *h = (void *)buf;

	h->unique = unique;
	h->error = error;
	h->len = (uint32_t)(sizeof(*h) + len);
	if (len)
		memcpy(buf + sizeof(*h), data, len);
	if (write(fuse_fd, buf, h->len) < 0 && errno != ENOENT)
		fprintf(stderr, "fuse_stall: reply: %s\n", strerror(errno));
}

static void attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
	} else {
		a->mode = S_IFREG | 0644;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
	a->blksize = 4096;
}

/* the victim's threads: one holds the lock for read, one waits to write it */
static char *map;
static int ready_w;

static void *holder(void *arg)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	char c;

	(void)arg;
	if (fd >= 0)
		(void)pread(fd, &c, 1, (off_t)(uintptr_t)map);	/* never returns */
	return NULL;
}

static void victim(const char *mnt, uid_t uid)
{
	char path[4096];
	pthread_t t;
	int fd;

	if (setgid(uid) || setuid(uid))
		die("setuid");
	/* after setuid, which clears both: dies with the daemon; /proc/self/mem
	 * stays ours */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 1);
	if (getppid() == 1)
		_exit(1);
	snprintf(path, sizeof(path), "%s/f", mnt);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		die("mmap f");
	if (pthread_create(&t, NULL, holder, NULL))
		die("pthread_create");
	/* the daemon says when the READ is in, then the writer goes */
	{
		char c;

		if (read(0, &c, 1) != 1)
			_exit(1);
	}
	if (write(ready_w, "w", 1) != 1)
		_exit(1);
	mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);	/* waits */
	pause();
	_exit(0);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* the victim's main thread, in mmap, waits for the lock as a writer (D) */
static bool writer_waits(pid_t pid)
{
	char path[64], buf[512];
	bool d = false;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'D')
		d = true;
	fclose(f);
	return d;
}

int main(int argc, char **argv)
{
	static char req[FUSE_MIN_READ_BUFFER * 32];
	const char *mnt;
	char opts[256];
	uid_t uid = 65534;
	int tovictim[2], ready[2];
	pid_t pid;
	bool read_seen = false, said = false;
	struct sigaction sa = { .sa_handler = on_term };

	if (argc < 2) {
		fprintf(stderr, "usage: fuse_stall MNTDIR [UID]\n");
		return 2;
	}
	mnt = argv[1];
	if (argc > 2)
		uid = (uid_t)atoi(argv[2]);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0)
		die("/dev/fuse");
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fuse_fd);
	if (mount("memlens-stall", mnt, "fuse", MS_NOSUID | MS_NODEV, opts))
		die("mount");
	if (pipe(tovictim) || pipe2(ready, O_CLOEXEC))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(tovictim[0], 0);
		close(tovictim[1]);
		close(ready[0]);
		ready_w = ready[1];
		close(fuse_fd);
		victim(mnt, uid);
	}
	close(tovictim[0]);
	close(ready[1]);
	while (!stop) {
		struct pollfd pf[2] = { { .fd = fuse_fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
		struct fuse_in_header *in = (void *)req;
		void *arg = req + sizeof(*in);
		ssize_t n;

		if (read_seen && !said) {
			char c;

			if (read(ready[0], &c, 1) == 1) {
				for (int i = 0; i < 500 && !writer_waits(pid); i++)
					usleep(10000);
				usleep(50000);	/* the rwsem's hand-off: later readers queue */
				printf("%d\n", (int)pid);
				fflush(stdout);
				said = true;
			}
		}
		if (poll(pf, 2, 200) < 0)
			continue;
		if (pf[1].revents)
			break;	/* stdin closed */
		if (!(pf[0].revents & POLLIN))
			continue;
		n = read(fuse_fd, req, sizeof(req));
		if (n < (ssize_t)sizeof(*in))
			continue;
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_in *ii = arg;
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION, .minor = ii->minor < 31 ? ii->minor : 31,
						   .max_readahead = 4096, .max_write = 4096, .max_background = 4,
						   .congestion_threshold = 4 };

			/* an old kernel's INIT reply is shorter */
			reply(in->unique, 0, &o, ii->minor < 23 ? FUSE_COMPAT_22_INIT_OUT_SIZE : sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = { 0 };

			if (strcmp(arg, "f")) {
				reply(in->unique, -ENOENT, NULL, 0);
				break;
			}
			e.nodeid = 2;
			e.attr_valid = 3600;
			e.entry_valid = 3600;
			attr(&e.attr, 2);
			reply(in->unique, 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out a = { .attr_valid = 3600 };

			attr(&a.attr, in->nodeid);
			reply(in->unique, 0, &a, sizeof(a));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { .fh = 1 };

			reply(in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ:
			if (in->nodeid == 2) {	/* never answered */
				if (!read_seen && write(tovictim[1], "r", 1) != 1)
					die("victim");
				read_seen = true;
				break;
			}
			reply(in->unique, 0, NULL, 0);
			break;
		case FUSE_INTERRUPT:
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break;	/* no reply */
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_ACCESS:
			reply(in->unique, 0, NULL, 0);
			break;
		default:
			reply(in->unique, -ENOSYS, NULL, 0);
		}
	}
	kill(pid, SIGKILL);
	close(fuse_fd);	/* aborts the connection: the READ ends, the victim with it */
	waitpid(pid, NULL, 0);
	umount2(mnt, MNT_DETACH);
	return 0;
}
