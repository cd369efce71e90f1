#include "textflag.h"

// Weights of a 32-byte block's bytes in s2: 32 for the first, 1 for the last.
DATA adlerWeights<>+0(SB)/8, $0x191a1b1c1d1e1f20
DATA adlerWeights<>+8(SB)/8, $0x1112131415161718
DATA adlerWeights<>+16(SB)/8, $0x090a0b0c0d0e0f10
DATA adlerWeights<>+24(SB)/8, $0x0102030405060708
GLOBL adlerWeights<>(SB), RODATA|NOPTR, $32

DATA adlerOnes<>+0(SB)/8, $0x0001000100010001
DATA adlerOnes<>+8(SB)/8, $0x0001000100010001
DATA adlerOnes<>+16(SB)/8, $0x0001000100010001
DATA adlerOnes<>+24(SB)/8, $0x0001000100010001
GLOBL adlerOnes<>(SB), RODATA|NOPTR, $32

// Sums the eight 32-bit lanes of Y reg into 32-bit memory at dst, using X3.
#define HSUM(Y, X, dst) \
	VEXTRACTI128 $1, Y, X3 \
	VPADDD X3, X, X \
	VPSHUFD $0x4e, X, X3 \
	VPADDD X3, X, X \
	VPSHUFD $0xb1, X, X3 \
	VPADDD X3, X, X \
	VMOVD X, AX \
	MOVL AX, dst

// func adler32AVX2(p []byte) (bytes, weighted, before uint32)
TEXT ·adler32AVX2(SB), NOSPLIT, $0-36
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX
	VPXOR Y0, Y0, Y0 // bytes
	VPXOR Y1, Y1, Y1 // weighted
	VPXOR Y2, Y2, Y2 // before: bytes, summed at each block's start
	VPXOR Y7, Y7, Y7
	VMOVDQU adlerWeights<>(SB), Y5
	VMOVDQU adlerOnes<>(SB), Y6
	TESTQ CX, CX
	JZ done

loop:
	VMOVDQU (SI), Y3
	VPADDD Y0, Y2, Y2
	VPSADBW Y7, Y3, Y4     // four sums of 8 bytes, in 64-bit lanes
	VPADDD Y4, Y0, Y0
	VPMADDUBSW Y5, Y3, Y4  // byte * weight, adjacent pairs added: 16 words
	VPMADDWD Y6, Y4, Y4    // adjacent words added: 8 dwords
	VPADDD Y4, Y1, Y1
	ADDQ $32, SI
	SUBQ $32, CX
	JNZ loop

done:
	HSUM(Y0, X0, bytes+24(FP))
	HSUM(Y1, X1, weighted+28(FP))
	HSUM(Y2, X2, before+32(FP))
	VZEROUPPER
	RET
