/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for Lua errors on x86_64: saves and restores the
 * callee-saved registers, the stack pointer and the return address.
 *
 * int lunatik_setjmp(lunatik_jmp_buf env);          returns 0, or val
 * void lunatik_longjmp(lunatik_jmp_buf env, int val);  never returns
 *
 * longjmp returns through the saved address with a push and a RET rather
 * than an indirect jump, so IBT (which polices indirect jumps) accepts it.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

SYM_FUNC_START(lunatik_setjmp)
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rdx		/* the caller's stack pointer */
	movq	%rdx, 48(%rdi)
	movq	(%rsp), %rdx		/* the return address */
	movq	%rdx, 56(%rdi)
	xorl	%eax, %eax
	RET
SYM_FUNC_END(lunatik_setjmp)

SYM_FUNC_START(lunatik_longjmp)
	movl	%esi, %eax
	testl	%eax, %eax
	jnz	1f
	incl	%eax			/* setjmp must not seem to return 0 */
1:	movq	0(%rdi), %rbx
	movq	8(%rdi), %rbp
	movq	16(%rdi), %r12
	movq	24(%rdi), %r13
	movq	32(%rdi), %r14
	movq	40(%rdi), %r15
	movq	48(%rdi), %rsp
	pushq	56(%rdi)
	/*
	 * The stack is now what it was when lunatik_setjmp was entered: the
	 * return address on top. Tell objtool, which cannot see that.
	 */
	UNWIND_HINT_FUNC
	RET
SYM_FUNC_END(lunatik_longjmp)
