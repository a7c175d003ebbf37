/* SPDX-License-Identifier: GPL-2.0 */
/* Non-local jumps for Lua errors, in lua/klibc/setjmp_64.S. */
#ifndef LUNATIK_SETJMP_H
#define LUNATIK_SETJMP_H
/* rbx, rbp, r12-r15, rsp and the return address. */
typedef unsigned long lunatik_jmp_buf[8];
/* The name ldo.c declares its buffers with. */
typedef lunatik_jmp_buf jmp_buf;
int lunatik_setjmp(lunatik_jmp_buf env) __attribute__((returns_twice));
void lunatik_longjmp(lunatik_jmp_buf env, int val) __attribute__((noreturn));
#endif
