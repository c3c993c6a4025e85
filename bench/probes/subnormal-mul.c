// Native probe: the cost of a multiply with a subnormal operand on this CPU (SSE mulps + addps over
// 256 KiB of weights, a subnormal every N values). Development only, not built by anything.
//
//   gcc -O2 -msse4.1 bench/probes/subnormal-mul.c -o /tmp/subnormal-mul && /tmp/subnormal-mul
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int n=1<<16; float *w=aligned_alloc(64,n*4);
  for(int rep=0;rep<2;rep++) for(int frac=0;frac<6;frac++){
    int every = (int[]){0,400,100,4,1000,37}[frac];
    for(int i=0;i<n;i++){ w[i]= 1e-30f*(1+(i%7)); if(every && i%every==0) w[i]=1e-40f; }
    __m128 acc[8]; for(int j=0;j<8;j++) acc[j]=_mm_setzero_ps();
    __m128 x=_mm_set1_ps(3e20f);
    double t0=now();
    for(int r=0;r<2000;r++) for(int i=0;i<n;i+=32){ for(int j=0;j<8;j++){ __m128 v=_mm_load_ps(w+i+4*j); acc[j]=_mm_add_ps(acc[j],_mm_mul_ps(x,v)); } }
    double t=now()-t0; float s=0; float o[4]; for(int j=0;j<8;j++){_mm_storeu_ps(o,acc[j]); s+=o[0];}
    printf("subnormal every %d: %.2f ns per vector (%g)\n", every, t/(2000.0*n/4)*1e9, s);
  }
}
