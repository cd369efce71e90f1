#include "textflag.h"

// STREAM_POINTERS loads the 8 stream pointers at AX into SI, DX, R8-R13.
#define STREAM_POINTERS \
	MOVQ 0(AX), SI; \
	MOVQ 8(AX), DX; \
	MOVQ 16(AX), R8; \
	MOVQ 24(AX), R9; \
	MOVQ 32(AX), R10; \
	MOVQ 40(AX), R11; \
	MOVQ 48(AX), R12; \
	MOVQ 56(AX), R13

// INTERLEAVE8X16 loads 16 bytes at BX of each of the 8 streams (SI, DX,
// R8-R13) and interleaves bytes, words and doublewords (punpckl/h): the
// 16 elements of 8 bytes, one byte a stream, end up two a register,
// elements 0,1 in X0, 2,3 in X12, 4,5 in X1, 6,7 in X13, 8,9 in X8, 10,11
// in X14, 12,13 in X3, 14,15 in X15.
#define INTERLEAVE8X16 \
	MOVOU (SI)(BX*1), X0; \
	MOVOU (DX)(BX*1), X1; \
	MOVOU (R8)(BX*1), X2; \
	MOVOU (R9)(BX*1), X3; \
	MOVOU (R10)(BX*1), X4; \
	MOVOU (R11)(BX*1), X5; \
	MOVOU (R12)(BX*1), X6; \
	MOVOU (R13)(BX*1), X7; \
	MOVO      X0, X8; \
	PUNPCKLBW X1, X0; \
	PUNPCKHBW X1, X8; \
	MOVO      X2, X9; \
	PUNPCKLBW X3, X2; \
	PUNPCKHBW X3, X9; \
	MOVO      X4, X10; \
	PUNPCKLBW X5, X4; \
	PUNPCKHBW X5, X10; \
	MOVO      X6, X11; \
	PUNPCKLBW X7, X6; \
	PUNPCKHBW X7, X11; \
	MOVO      X0, X1; \
	PUNPCKLWL X2, X0; \
	PUNPCKHWL X2, X1; \
	MOVO      X8, X3; \
	PUNPCKLWL X9, X8; \
	PUNPCKHWL X9, X3; \
	MOVO      X4, X5; \
	PUNPCKLWL X6, X4; \
	PUNPCKHWL X6, X5; \
	MOVO      X10, X7; \
	PUNPCKLWL X11, X10; \
	PUNPCKHWL X11, X7; \
	MOVO      X0, X12; \
	PUNPCKLLQ X4, X0; \
	PUNPCKHLQ X4, X12; \
	MOVO      X1, X13; \
	PUNPCKLLQ X5, X1; \
	PUNPCKHLQ X5, X13; \
	MOVO      X8, X14; \
	PUNPCKLLQ X10, X8; \
	PUNPCKHLQ X10, X14; \
	MOVO      X3, X15; \
	PUNPCKLLQ X7, X3; \
	PUNPCKHLQ X7, X15

// STORE8X16 stores the 16 elements as INTERLEAVE8X16 leaves them, in
// order, to the 128 bytes at DI, and moves BX and DI past them.
#define STORE8X16 \
	MOVOU X0, 0(DI); \
	MOVOU X12, 16(DI); \
	MOVOU X1, 32(DI); \
	MOVOU X13, 48(DI); \
	MOVOU X8, 64(DI); \
	MOVOU X14, 80(DI); \
	MOVOU X3, 96(DI); \
	MOVOU X15, 112(DI); \
	ADDQ $16, BX; \
	ADDQ $128, DI

// Unshuffles with SSE2 (every amd64 core has it): 16 elements an
// iteration, one 16-byte load per stream, then interleaving bytes, words
// and doublewords (punpckl/h) transposes them into whole elements.

// func unshuffle8x16(out *byte, streams *[8]*byte, groups int)
TEXT ·unshuffle8x16(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ streams+8(FP), AX
	MOVQ groups+16(FP), CX
	STREAM_POINTERS
	XORQ BX, BX
	TESTQ CX, CX
	JEQ done8

loop8:
	INTERLEAVE8X16

	STORE8X16
	DECQ CX
	JNZ  loop8

done8:
	RET

// func unshuffle4x16(out *byte, streams *[4]*byte, groups int)
TEXT ·unshuffle4x16(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ streams+8(FP), AX
	MOVQ groups+16(FP), CX
	MOVQ 0(AX), SI
	MOVQ 8(AX), DX
	MOVQ 16(AX), R8
	MOVQ 24(AX), R9
	XORQ BX, BX
	TESTQ CX, CX
	JEQ done4

loop4:
	MOVOU (SI)(BX*1), X0
	MOVOU (DX)(BX*1), X1
	MOVOU (R8)(BX*1), X2
	MOVOU (R9)(BX*1), X3

	MOVO      X0, X4
	PUNPCKLBW X1, X0
	PUNPCKHBW X1, X4
	MOVO      X2, X5
	PUNPCKLBW X3, X2
	PUNPCKHBW X3, X5

	MOVO      X0, X1
	PUNPCKLWL X2, X0
	PUNPCKHWL X2, X1
	MOVO      X4, X3
	PUNPCKLWL X5, X4
	PUNPCKHWL X5, X3

	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X4, 32(DI)
	MOVOU X3, 48(DI)

	ADDQ $16, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  loop4

done4:
	RET

// Bit unshuffle of one byte plane (bitUnshufflePlane), 16 columns an
// iteration: the byte interleave above turns 16 bytes of each of the 8
// rows into 16 words, word c holding column c's byte of rows 0-7, two a
// register; three delta swaps on each 64-bit lane (transpose8) then
// transpose each word's 8x8 bits into the column's 8 bytes.

DATA bitmask7<>+0(SB)/8, $0x00aa00aa00aa00aa
DATA bitmask7<>+8(SB)/8, $0x00aa00aa00aa00aa
GLOBL bitmask7<>(SB), RODATA|NOPTR, $16
DATA bitmask14<>+0(SB)/8, $0x0000cccc0000cccc
DATA bitmask14<>+8(SB)/8, $0x0000cccc0000cccc
GLOBL bitmask14<>(SB), RODATA|NOPTR, $16
DATA bitmask28<>+0(SB)/8, $0x00000000f0f0f0f0
DATA bitmask28<>+8(SB)/8, $0x00000000f0f0f0f0
GLOBL bitmask28<>(SB), RODATA|NOPTR, $16

// transpose8x2 transposes the bits of both words of R, with T a scratch
// register and M7, M14, M28 the masks.
#define TRANSPOSE8X2(R, T, M7, M14, M28) \
	MOVO  R, T; PSRLQ $7, T; PXOR R, T; PAND M7, T; PXOR T, R; PSLLQ $7, T; PXOR T, R; \
	MOVO  R, T; PSRLQ $14, T; PXOR R, T; PAND M14, T; PXOR T, R; PSLLQ $14, T; PXOR T, R; \
	MOVO  R, T; PSRLQ $28, T; PXOR R, T; PAND M28, T; PXOR T, R; PSLLQ $28, T; PXOR T, R

// func bitUnshufflePlane16(plane *byte, rows *[8]*byte, groups int)
TEXT ·bitUnshufflePlane16(SB), NOSPLIT, $0-24
	MOVQ plane+0(FP), DI
	MOVQ rows+8(FP), AX
	MOVQ groups+16(FP), CX
	STREAM_POINTERS
	XORQ BX, BX
	TESTQ CX, CX
	JEQ donebits

loopbits:
	INTERLEAVE8X16

	// Columns 0,1 in X0, ..., 14,15 in X15, as INTERLEAVE8X16 leaves them.
	MOVOU bitmask7<>(SB), X9
	MOVOU bitmask14<>(SB), X10
	MOVOU bitmask28<>(SB), X11
	TRANSPOSE8X2(X0, X2, X9, X10, X11)
	TRANSPOSE8X2(X12, X2, X9, X10, X11)
	TRANSPOSE8X2(X1, X2, X9, X10, X11)
	TRANSPOSE8X2(X13, X2, X9, X10, X11)
	TRANSPOSE8X2(X8, X2, X9, X10, X11)
	TRANSPOSE8X2(X14, X2, X9, X10, X11)
	TRANSPOSE8X2(X3, X2, X9, X10, X11)
	TRANSPOSE8X2(X15, X2, X9, X10, X11)

	STORE8X16
	DECQ CX
	JNZ  loopbits

donebits:
	RET
