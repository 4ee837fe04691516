// The caching allocator: blocks are reused by size class, statistics track the peak, and tensors freed return
// their memory to the cache rather than to the driver.
#include "cuda_test.h"

using namespace gt;
using namespace gt::testing;

namespace {

class CudaMemory : public CudaTest {};

TEST_F(CudaMemory, ReusesFreedBlocksAndTracksThePeak) {
  cuda::synchronize();
  cuda::reset_peak();
  const cuda::MemoryStats s0 = cuda::memory_stats();
  {
    Tensor a = Tensor::empty({1000, 1000}, DType::F32, Device::CUDA);  // 4 MB: a large class (2 MiB multiples)
    const cuda::MemoryStats s1 = cuda::memory_stats();
    EXPECT_EQ(s1.in_use - s0.in_use, size_t{4} << 20) << "4,000,000 bytes round up to 4 MiB";
    EXPECT_GE(s1.peak_in_use, s1.in_use);
  }
  const cuda::MemoryStats s2 = cuda::memory_stats();
  EXPECT_EQ(s2.in_use, s0.in_use);
  EXPECT_EQ(s2.peak_in_use - s0.in_use, size_t{4} << 20);
  // The same class again comes from the cache: no new device allocation.
  { Tensor b = Tensor::empty({999, 1001}, DType::F32, Device::CUDA); }
  EXPECT_EQ(cuda::memory_stats().device_allocs, s2.device_allocs);
  // A small request rounds to 512 bytes.
  const cuda::MemoryStats s3 = cuda::memory_stats();
  Tensor c = Tensor::empty({3}, DType::BF16, Device::CUDA);
  EXPECT_EQ(cuda::memory_stats().in_use - s3.in_use, size_t{512});
}

TEST_F(CudaMemory, ZerosAndLargeCopiesAreExact) {
  // Above 2^31 bytes would take too long for a unit test; 2^26 elements check the 64-bit paths' arithmetic.
  const int64_t n = int64_t{1} << 26;
  Tensor z = Tensor::zeros({n}, DType::BF16, Device::CUDA);
  EXPECT_EQ(sum(z).item(), 0.f);
  Tensor o = Tensor::ones({n}).to(Device::CUDA);
  EXPECT_EQ(sum(o).item(), static_cast<float>(n));
}

}  // namespace
