// SPDX-License-Identifier: GPL-2.0-or-later
/* The /proc/<pid>/cgroup parser and the container/pod of a path, on recorded
 * text of v1-only, hybrid and v2 machines and of the container runtimes'
 * layouts, and on names made to look like something else. */
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"
#include "tap.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "0b7a3d52-1c2f-4e7a-9b1d-2f3c4d5e6f70"
#define UID_ "0b7a3d52_1c2f_4e7a_9b1d_2f3c4d5e6f70"

static const struct {
	const char *what, *text, *path, *container, *pod;
} cases[] = {
	/* recorded on this project's development machine (hybrid: v1 controllers, cgroup2 unified) */
	{ "hybrid, v2 at the root: the memory controller's path",
	  "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/process_api/cb57be130051b7560b66545f7b71de11\n"
	  "3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n",
	  "/process_api/cb57be130051b7560b66545f7b71de11", "", "" },
	{ "hybrid, every v1 path the root but name=systemd's: that one",
	  "12:memory:/\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n0::/\n",
	  "/user.slice/user-1000.slice/session-2.scope", "", "" },
	{ "hybrid, a v2 path: it wins",
	  "4:memory:/other\n0::/system.slice/docker-" ID ".scope\n", "/system.slice/docker-" ID ".scope", ID, "" },
	{ "v1 only, docker's cgroupfs driver", "11:memory:/docker/" ID "\n10:cpu,cpuacct:/docker/" ID "\n1:name=systemd:/docker/" ID "\n",
	  "/docker/" ID, ID, "" },
	{ "v1: the memory controller's path, not the first listed", "11:cpu,cpuacct:/cpu-path\n10:memory:/mem-path\n1:name=systemd:/sd\n0::/\n",
	  "/mem-path", "", "" },
	{ "v1 controllers listed together", "10:cpu,memory:/a/b\n1:name=systemd:/c\n", "/a/b", "", "" },
	{ "v2 only, everything at the root", "0::/\n", "/", "", "" },
	{ "v2, no trailing newline", "0::/init.scope", "/init.scope", "", "" },
	{ "kubelet, systemd driver, containerd",
	  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope\n",
	  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID, UID },
	{ "kubelet, systemd driver, guaranteed QoS (no qos slice), cri-o",
	  "0::/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope\n",
	  "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope", ID, UID },
	{ "kubelet, systemd driver, read inside a cgroup namespace",
	  "0::/../../kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope\n",
	  "/../../kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID, UID },
	{ "not kubepods below the top: no pod", "0::/user.slice/kubepods/pod" UID "/x\n", "/user.slice/kubepods/pod" UID "/x", "", "" },
	{ "kubelet, cgroupfs driver", "0::/kubepods/besteffort/pod" UID "/" ID "\n", "/kubepods/besteffort/pod" UID "/" ID, ID, UID },
	{ "kubelet pod cgroup itself: a pod, no container", "0::/kubepods/burstable/pod" UID "\n", "/kubepods/burstable/pod" UID, "", UID },
	{ "podman as root", "0::/machine.slice/libpod-" ID ".scope\n", "/machine.slice/libpod-" ID ".scope", ID, "" },
	{ "rootless podman: the user's own subtree, so no id (the user could name any)",
	  "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope", "", "" },
	{ "a container's own cgroup below its scope: still the container",
	  "0::/system.slice/docker-" ID ".scope/init.scope\n", "/system.slice/docker-" ID ".scope/init.scope", ID, "" },
	{ "kubelet, cgroupfs driver, a cgroup of the container's own below it",
	  "0::/kubepods/besteffort/pod" UID "/" ID "/sub\n", "/kubepods/besteffort/pod" UID "/" ID "/sub", ID, UID },
	/* spoofed ids: a delegated subtree names what the runtime would */
	{ "a delegated subtree's docker-<id>.scope is no container",
	  "0::/user.slice/user-1000.slice/user@1000.service/docker-" ID ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/docker-" ID ".scope", "", "" },
	{ "a delegated subtree's x/cri-containerd-<id>.scope is no container",
	  "0::/user.slice/user-1000.slice/user@1000.service/x/cri-containerd-" ID ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/x/cri-containerd-" ID ".scope", "", "" },
	{ "a delegated subtree's x/docker/<id> is no container",
	  "0::/user.slice/user-1000.slice/user@1000.service/x/docker/" ID "\n",
	  "/user.slice/user-1000.slice/user@1000.service/x/docker/" ID, "", "" },
	{ "a docker scope right below another top-level slice is no container",
	  "0::/user.slice/docker-" ID ".scope\n", "/user.slice/docker-" ID ".scope", "", "" },
	{ "system.slice deeper down (a service's own subtree) is no container",
	  "0::/system.slice/foo.service/docker-" ID ".scope\n", "/system.slice/foo.service/docker-" ID ".scope", "", "" },
	{ "a pod deeper than kubepods/QOS/ is no pod",
	  "0::/kubepods/burstable/x/pod" UID "/" ID "\n", "/kubepods/burstable/x/pod" UID "/" ID, "", "" },
	{ "podman's conmon is not the container", "0::/machine.slice/libpod-conmon-" ID ".scope\n",
	  "/machine.slice/libpod-conmon-" ID ".scope", "", "" },
	{ "an id of 63 hex digits is none", "0::/docker/" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" "\n",
	  "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "", "" },
	{ "an id with upper case is none (runtimes write lower case)", "0::/system.slice/docker-" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef" ".scope\n",
	  "/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope", "", "" },
	/* hostile names: a delegated subtree's owner picks any bytes but '/' */
	{ "a v2 name carrying a newline and a forged 0:: line: one path, naming nothing",
	  "0::/user.slice/evil\n0::/kubepods/pod" UID "/" ID "\n",
	  "/user.slice/evil\n0::/kubepods/pod" UID "/" ID, "", "" },
	{ "a name with a newline and a forged docker scope after it names no container",
	  "0::/user.slice/x\n0::/system.slice/docker-" ID ".scope\n", "/user.slice/x\n0::/system.slice/docker-" ID ".scope", "", "" },
	{ "a pod below the kubelet's root only: kubepods deeper down is a name, not a pod",
	  "0::/user.slice/kubepods/pod" UID "\n", "/user.slice/kubepods/pod" UID, "", "" },
	{ "a bare id needs /docker or a pod above it", "0::/user.slice/" ID "\n", "/user.slice/" ID, "", "" },
	{ "no cgroup line at all", "garbage\n", "", "", "" },
	{ "empty", "", "", "", "" },
};

/* the expected path as printed: newlines as '|' */
static const char *ml_flat(const char *s)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *q = buf; *q; q++)
		if (*q == '\n')
			*q = '|';
	return buf;
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[4096] = "x", container[ML_CONTAINER_ID_LEN + 1] = "x", pod[ML_POD_UID_LEN + 1] = "x";
		int err = ml_cgroup_parse(cases[i].text, strlen(cases[i].text), path, sizeof(path));

		ml_cgroup_ids(path, container, pod);
		for (char *q = path; *q; q++)
			if (*q == '\n')
				*q = '|';	/* one TAP line */
		ok(!strcmp(path, ml_flat(cases[i].path)) && !strcmp(container, cases[i].container) && !strcmp(pod, cases[i].pod) &&
			   (err == 0) == (cases[i].path[0] != 0),
		   "%s (err %d, path '%s', container '%s', pod '%s')", cases[i].what, err, path, container, pod);
	}
	{
		/* a path longer than the caller's buffer: cut, NUL-terminated */
		char small[8];

		ml_cgroup_parse("0::/0123456789\n", 15, small, sizeof(small));
		ok(!strcmp(small, "/012345"), "a long path is cut to the buffer, NUL-terminated ('%s')", small);
	}
	{
		/* where the path came from: what a cgroup id may stand for */
		static const struct {
			const char *what, *text;
			enum ml_cgroup_from from;
		} froms[] = {
			{ "hybrid, v2 at the root: the memory line", "9:name=systemd:/\n4:memory:/p\n0::/\n", ML_CGROUP_FROM_MEMORY },
			{ "hybrid, memory at the root: another v1 line", "12:memory:/\n1:name=systemd:/u\n0::/\n", ML_CGROUP_FROM_V1 },
			{ "hybrid, a v2 path: the v2 line", "4:memory:/other\n0::/system.slice/x\n", ML_CGROUP_FROM_V2 },
			{ "v2 only, the root: the v2 line", "0::/\n", ML_CGROUP_FROM_V2 },
			{ "hybrid, the root everywhere: not the v2 line's alone", "4:memory:/\n0::/\n", ML_CGROUP_FROM_V1 },
			{ "v1 only: the memory line", "11:memory:/docker/x\n1:name=systemd:/docker/x\n", ML_CGROUP_FROM_MEMORY },
			{ "no cgroup line", "garbage\n", ML_CGROUP_FROM_NONE },
		};

		for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
			enum ml_cgroup_from from = (enum ml_cgroup_from)99;
			char path[64];

			ml_cgroup_parse_from(froms[i].text, strlen(froms[i].text), path, sizeof(path), &from);
			ok(from == froms[i].from, "path from: %s (%d, want %d)", froms[i].what, from, froms[i].from);
		}
	}
	return tap_done();
}
