#pragma once
// Tensor: a strided view of a shared storage, with an optional autograd record attached.
//
// A Tensor is a cheap handle (copies share the same tensor). Views (reshape, permute, slice, expand) share
// storage and are differentiable; kernels call contiguous() when they need dense memory. A leaf's gradient is
// float32, whatever its dtype (on the GPU the gradients flowing between ops keep their tensor's dtype).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"

namespace gt {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// Device memory. CPU memory is 64-byte aligned; a storage can also wrap foreign memory (an mmap'd file) that
// its deleter releases. CUDA memory comes from the caching allocator of autograd/cuda/runtime.h.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device = Device::CPU;
  std::function<void(void*)> deleter;
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
};

struct AutogradMeta;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  std::shared_ptr<AutogradMeta> autograd;  // null for plain data
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Memory from empty() is uninitialised.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32) { return full(shape, 1.0, dtype); }
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape, DType dtype = DType::F32);
  static Tensor from_ids(const std::vector<int64_t>& v, const Shape& shape, DType dtype = DType::I64);
  static Tensor arange(int64_t n, DType dtype = DType::I64);
  // Wraps existing memory (for example a memory-mapped checkpoint); `keepalive` owns it.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> keepalive);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  bool is_contiguous() const;
  std::string str() const;  // "f32[2, 3]"

  // Raw access. data<T>() checks that T matches the dtype; pointers are at this view's offset.
  void* raw() const;
  template <class T>
  T* data() const;

  // Differentiable views and conversions (see ops.h for the rest of the ops).
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;
  Tensor expand(const Shape& shape) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor contiguous() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;  // a copy on `device` (this tensor when it is there already); differentiable

  // Copies that the tape does not see.
  Tensor clone() const;  // contiguous deep copy
  Tensor detach() const;  // same storage, no autograd record
  void copy_from(const Tensor& src);  // elementwise copy into this tensor (same shape), converting dtype

  std::vector<float> to_floats() const;  // any float dtype, any layout, in logical order
  std::vector<int64_t> to_ids() const;  // any integer dtype
  float item() const;

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;  // dense float32 gradient of a leaf (sparse row gradients are added in); undefined if none
  bool has_grad() const;
  void zero_grad();  // drops the gradient
  const std::string& name() const;
  Tensor& set_name(const std::string& name);
  bool is_leaf() const;
  // Runs backward from this tensor: a scalar gets the upstream gradient 1, anything else needs `grad`.
  void backward(const Tensor& grad = Tensor()) const;

  TensorImpl& impl() const;
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct DTypeOf<bf16> {
  static constexpr DType value = DType::BF16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::I64;
};

void check_dtype(const Tensor& t, DType want, const char* what);

template <class T>
T* Tensor::data() const {
  check_dtype(*this, DTypeOf<T>::value, "Tensor::data");
  return static_cast<T*>(raw());
}

// A view with new geometry over the same storage, outside the tape (the differentiable views call this).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

// A contiguous float32 tensor with the same values: `t` itself when it already is one, else a converted copy.
// Kernels use it to accept bf16 and strided inputs.
Tensor dense_f32(const Tensor& t);
// The same for any dtype, on t's device.
Tensor dense_as(const Tensor& t, DType dtype);

// The device all defined `ts` live on; a gt::Error naming `op` and the tensors when they are on different ones.
Device same_device(const char* op, const std::vector<Tensor>& ts);
// The dtype an op computes and returns for these float inputs: f32 on the CPU (every CPU op widens bf16); on the
// GPU bf16 when every defined input is bf16, else f32 (docs/cuda.md).
DType result_dtype(const std::vector<Tensor>& ts);

}  // namespace gt
