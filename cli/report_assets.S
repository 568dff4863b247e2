/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The report page's assets, embedded as they are in the tree (paths from
 * the top directory, where make runs), each NUL-terminated: report_html.c
 * inlines them into every page. */
	.section .rodata
	.balign 16
	.global report_css
report_css:
	.incbin "cli/report/report.css"
	.byte 0
	.global report_js
report_js:
	.incbin "cli/report/report.js"
	.byte 0
	.global report_d3
report_d3:
	.incbin "third_party/d3-hierarchy/d3-hierarchy.js"
	.byte 0
	.global report_d3_license
report_d3_license:
	.incbin "third_party/d3-hierarchy/LICENSE"
	.byte 0
	.section .note.GNU-stack,"",@progbits
