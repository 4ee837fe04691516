// Matrix products on cuBLASLt (kernels.h: Gemm). Row-major problems are handed to the column-major library as
// their transposes: C^T = op(B)^T op(A)^T, i.e. the operands swap places and nothing is copied.
//
// The library is opened at the first product (dlopen), not linked: loading its 540 MB at process start cost every
// run of the binary a quarter of a second and 200 MB of memory, GPU or not.
#include <cublasLt.h>
#include <dlfcn.h>

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "autograd/cuda/internal.h"
#include "autograd/cuda/kernels.h"

namespace gt::cuda {

namespace {

constexpr size_t kWorkspace = size_t{32} << 20;

void check_lt(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("cuBLASLt error in ", what, ": status ", static_cast<int>(s));
}

cudaDataType_t lt_type(DType t) {
  if (t == DType::F32) return CUDA_R_32F;
  if (t == DType::BF16) return CUDA_R_16BF;
  fail("cuda::gemm: float operands expected, got ", dtype_name(t));
}

// The largest power of two (up to 256) that divides the address: cuBLASLt's heuristics otherwise assume 256-byte
// alignment and may pick kernels that misread views at an offset.
uint32_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 256;
  while (al > 1 && (a % al) != 0) al >>= 1;
  return al;
}

// Everything that decides the descriptors and the algorithm.
using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int, int, bool, uint32_t, uint32_t, uint32_t>;

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

// The entry points this file uses, resolved from the shared library.
struct Api {
#define GT_LT_FN(name) decltype(&::name) name = nullptr;
  GT_LT_FN(cublasLtCreate)
  GT_LT_FN(cublasLtMatmul)
  GT_LT_FN(cublasLtMatmulAlgoGetHeuristic)
  GT_LT_FN(cublasLtMatmulDescCreate)
  GT_LT_FN(cublasLtMatmulDescSetAttribute)
  GT_LT_FN(cublasLtMatmulPreferenceCreate)
  GT_LT_FN(cublasLtMatmulPreferenceDestroy)
  GT_LT_FN(cublasLtMatmulPreferenceSetAttribute)
  GT_LT_FN(cublasLtMatrixLayoutCreate)
  GT_LT_FN(cublasLtMatrixLayoutSetAttribute)
#undef GT_LT_FN

  Api() {
    void* lib = nullptr;
    for (const char* name : {"libcublasLt.so." GT_CUBLASLT_SOVERSION, "libcublasLt.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    GT_CHECK(lib, "cuda::gemm: cannot load cuBLASLt (libcublasLt.so." GT_CUBLASLT_SOVERSION "): ", dlerror());
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      GT_CHECK(fn, "cuda::gemm: cuBLASLt has no ", name);
    };
#define GT_LT_GET(name) get(name, #name);
    GT_LT_GET(cublasLtCreate)
    GT_LT_GET(cublasLtMatmul)
    GT_LT_GET(cublasLtMatmulAlgoGetHeuristic)
    GT_LT_GET(cublasLtMatmulDescCreate)
    GT_LT_GET(cublasLtMatmulDescSetAttribute)
    GT_LT_GET(cublasLtMatmulPreferenceCreate)
    GT_LT_GET(cublasLtMatmulPreferenceDestroy)
    GT_LT_GET(cublasLtMatmulPreferenceSetAttribute)
    GT_LT_GET(cublasLtMatrixLayoutCreate)
    GT_LT_GET(cublasLtMatrixLayoutSetAttribute)
#undef GT_LT_GET
  }
};

const Api& api() {
  static const Api* a = new Api();
  return *a;
}

struct Lt {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::mutex mu;
  std::map<Key, Plan> plans;
  Lt() {
    check_lt(api().cublasLtCreate(&handle), "cublasLtCreate");
    workspace = allocate(kWorkspace);
  }
};

Lt& lt() {
  static Lt* l = new Lt();
  return *l;
}

cublasLtMatrixLayout_t layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                              int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  check_lt(api().cublasLtMatrixLayoutCreate(&l, t, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld),
           "cublasLtMatrixLayoutCreate");
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    check_lt(api().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
             "layout batch count");
    check_lt(api().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                              sizeof(stride)),
             "layout batch stride");
  }
  return l;
}

Plan make_plan(const Gemm& g, DType ab, DType c_type, uint32_t al_a, uint32_t al_b, uint32_t al_c) {
  Lt& l = lt();
  Plan p;
  // Column-major: first operand is B, second is A, result C^T [n, m].
  const cublasOperation_t op_first = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_lt(api().cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  check_lt(api().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)), "transa");
  check_lt(api().cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)),
           "transb");
  const cudaDataType_t t = lt_type(ab), tc = lt_type(c_type);
  p.a = g.trans_b ? layout(t, g.k, g.n, g.ldb, g.batch, g.sb) : layout(t, g.n, g.k, g.ldb, g.batch, g.sb);
  p.b = g.trans_a ? layout(t, g.m, g.k, g.lda, g.batch, g.sa) : layout(t, g.k, g.m, g.lda, g.batch, g.sa);
  p.c = layout(tc, g.n, g.m, g.ldc, g.batch, g.sc);
  cublasLtMatmulPreference_t pref = nullptr;
  check_lt(api().cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  const size_t ws = kWorkspace;
  check_lt(api().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
           "workspace preference");
  // Operand A of the library call is our B, and so on.
  check_lt(api().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_b, 4), "align");
  check_lt(api().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_a, 4), "align");
  check_lt(api().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, 4), "align");
  check_lt(api().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, 4), "align");
  cublasLtMatmulHeuristicResult_t res{};
  int found = 0;
  check_lt(api().cublasLtMatmulAlgoGetHeuristic(l.handle, p.op, p.a, p.b, p.c, p.c, pref, 1, &res, &found),
           "cublasLtMatmulAlgoGetHeuristic");
  api().cublasLtMatmulPreferenceDestroy(pref);
  GT_CHECK(found > 0, "cuda::gemm: cuBLASLt has no algorithm for m=", g.m, " n=", g.n, " k=", g.k, " (",
           dtype_name(ab), " -> ", dtype_name(c_type), ")");
  p.algo = res.algo;
  return p;
}

}  // namespace

void gemm(const Gemm& g, DType ab, const void* a, const void* b, DType c_type, void* c) {
  GT_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 1, "cuda::gemm: bad sizes m=", g.m, " n=", g.n, " k=", g.k);
  GT_CHECK(c_type == DType::F32 || c_type == ab, "cuda::gemm: ", dtype_name(ab), " operands cannot write ",
           dtype_name(c_type));
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    // The library rejects k = 0; the product is then all zeros (times beta on C).
    GT_CHECK(g.beta == 0.f && g.batch == 1 && g.ldc == g.n, "cuda::gemm: k = 0 only for a plain dense C");
    fill_zero(c, static_cast<size_t>(g.m * g.n) * dtype_size(c_type));
    return;
  }
  const uint32_t al_a = alignment(a), al_b = alignment(b), al_c = alignment(c);
  const Key key{g.trans_a, g.trans_b, g.m,     g.n,  g.k,  g.lda, g.ldb, g.ldc, g.batch,
                g.sa,      g.sb,      g.sc,    static_cast<int>(ab), static_cast<int>(c_type), g.beta != 0.f,
                al_a,      al_b,      al_c};
  Lt& l = lt();
  std::lock_guard<std::mutex> lock(l.mu);
  auto it = l.plans.find(key);
  if (it == l.plans.end()) it = l.plans.emplace(key, make_plan(g, ab, c_type, al_a, al_b, al_c)).first;
  const Plan& p = it->second;
  check_lt(api().cublasLtMatmul(l.handle, p.op, &g.alpha, b, p.a, a, p.b, &g.beta, c, p.c, c, p.c, &p.algo, l.workspace,
                          kWorkspace, stream()),
           "cublasLtMatmul");
}

}  // namespace gt::cuda
