#include "autograd/tensor.h"

#include <cstdlib>
#include <sstream>

#include "autograd/autograd.h"
#include "autograd/cuda/kernels.h"
#include "autograd/cuda/runtime.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
  }
  return "?";
}

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n)) fail("tensor shape ", shape_str(s), " has more elements than fit in 64 bits");
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Storage::~Storage() {
  if (deleter) deleter(data);
}

void cuda::not_built() { fail("this build of gemma-tune has no CUDA support (no CUDA compiler was found)"); }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  auto s = std::make_shared<Storage>();
  if (device == Device::CUDA) {
    s->data = nbytes ? cuda::allocate(nbytes) : nullptr;
    s->nbytes = nbytes;
    s->device = device;
    s->deleter = [](void* p) { cuda::release(p); };
    return s;
  }
  const size_t rounded = (nbytes + 63) / 64 * 64;
  s->data = rounded ? std::aligned_alloc(64, rounded) : nullptr;
  GT_CHECK(rounded == 0 || s->data, "out of memory allocating ", nbytes, " bytes");
  s->nbytes = nbytes;
  s->device = device;
  s->deleter = [](void* p) { std::free(p); };
  return s;
}

void check_dtype(const Tensor& t, DType want, const char* what) {
  GT_CHECK(t.defined(), what, ": tensor is undefined");
  GT_CHECK(t.dtype() == want, what, ": expected dtype ", dtype_name(want), ", got ", t.str());
}

TensorImpl& Tensor::impl() const {
  GT_CHECK(impl_, "use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) GT_CHECK(d >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  int64_t bytes;
  if (__builtin_mul_overflow(shape_numel(shape), static_cast<int64_t>(dtype_size(dtype)), &bytes))
    fail("Tensor::empty: a tensor of shape ", shape_str(shape), " has more bytes than fit in 64 bits");
  impl->storage = Storage::allocate(static_cast<size_t>(bytes), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

namespace {
template <class F>
void with_dtype(DType t, F&& f) {
  switch (t) {
    case DType::F32: f(float{}); return;
    case DType::BF16: f(bf16{}); return;
    case DType::I32: f(int32_t{}); return;
    case DType::I64: f(int64_t{}); return;
  }
}

template <class D>
D from_double(double v) {
  if constexpr (std::is_same_v<D, bf16>) return float_to_bf16(static_cast<float>(v));
  else return static_cast<D>(v);
}

template <class D, class S>
D convert(S v) {
  if constexpr (std::is_same_v<D, S>) return v;
  else if constexpr (std::is_same_v<S, bf16>) return convert<D>(bf16_to_float(v));
  else if constexpr (std::is_same_v<D, bf16>) return float_to_bf16(static_cast<float>(v));
  else return static_cast<D>(v);
}

// Elementwise copy between two views of the same logical shape, any strides, converting the dtype.
template <class D, class S>
void copy_typed(const Tensor& dst, const Tensor& src) {
  const Shape& shape = dst.shape();
  const int64_t n = dst.numel();
  if (n == 0) return;
  D* dp = static_cast<D*>(dst.raw());
  const S* sp = static_cast<const S*>(src.raw());
  if (dst.is_contiguous() && src.is_contiguous()) {
    parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dp[i] = convert<D>(sp[i]);
    });
    return;
  }
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t inner = nd ? shape[nd - 1] : 1;
  const int64_t rows = n / inner;
  const int64_t ds = nd ? dst.strides()[nd - 1] : 1, ss = nd ? src.strides()[nd - 1] : 1;
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t rem = r, doff = 0, soff = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        doff += idx * dst.strides()[d];
        soff += idx * src.strides()[d];
      }
      for (int64_t i = 0; i < inner; ++i) dp[doff + i * ds] = convert<D>(sp[soff + i * ss]);
    }
  });
}
}  // namespace

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  const size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(dtype);
  if (!bytes) return t;
  if (device == Device::CUDA) cuda::fill_zero(t.raw(), bytes);
  else std::memset(t.raw(), 0, bytes);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const T v = from_double<T>(value);
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = v;
  });
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& shape, DType dtype) {
  GT_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "Tensor::from_vector: ", v.size(),
           " values for shape ", shape_str(shape));
  Tensor src = from_blob(const_cast<float*>(v.data()), shape, DType::F32, nullptr);
  Tensor t = empty(shape, dtype);
  t.copy_from(src);
  return t;
}

Tensor Tensor::from_ids(const std::vector<int64_t>& v, const Shape& shape, DType dtype) {
  GT_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "Tensor::from_ids: ", v.size(),
           " values for shape ", shape_str(shape));
  Tensor src = from_blob(const_cast<int64_t*>(v.data()), shape, DType::I64, nullptr);
  Tensor t = empty(shape, dtype);
  t.copy_from(src);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return from_ids(v, {n}, dtype);
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> keepalive) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>();
  impl->storage->data = data;
  impl->storage->nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (keepalive) impl->storage->deleter = [k = std::move(keepalive)](void*) mutable { k.reset(); };
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const {
  const int64_t n = dim();
  if (d < 0) d += n;
  GT_CHECK(d >= 0 && d < n, "Tensor::size: dim ", d, " out of range for ", str());
  return shape()[static_cast<size_t>(d)];
}

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  const auto& st = strides();
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] != 1 && st[i] != acc) return false;
    acc *= s[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype())) + shape_str(shape());
}

void* Tensor::raw() const {
  const auto& i = impl();
  return static_cast<char*>(i.storage->data) + i.offset * static_cast<int64_t>(dtype_size(i.dtype));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

void Tensor::copy_from(const Tensor& src) {
  GT_CHECK(src.shape() == shape(), "copy_from: shape ", src.str(), " into ", str());
  if (device() == Device::CUDA && src.device() == Device::CUDA) {
    cuda::copy(*this, src);
    return;
  }
  if (device() != src.device()) {
    // Across devices only whole dense buffers move; conversions and strides are handled on the side that has
    // them: the host prepares a dense copy in the destination's dtype, the device scatters it.
    const size_t bytes = static_cast<size_t>(numel()) * dtype_size(dtype());
    if (device() == Device::CUDA) {
      const Tensor host = dense_as(src, dtype());
      if (is_contiguous()) {
        cuda::copy_to_device(raw(), host.raw(), bytes);
      } else {
        const Tensor staged = Tensor::empty(shape(), dtype(), Device::CUDA);
        cuda::copy_to_device(staged.raw(), host.raw(), bytes);
        cuda::copy(*this, staged);
      }
    } else {
      const Tensor dense = src.is_contiguous() ? src : dense_as(src, src.dtype());
      if (is_contiguous() && dtype() == src.dtype()) {
        cuda::copy_to_host(raw(), dense.raw(), bytes);
      } else {
        Tensor host = Tensor::empty(shape(), src.dtype());
        cuda::copy_to_host(host.raw(), dense.raw(), static_cast<size_t>(numel()) * dtype_size(src.dtype()));
        copy_from(host);
      }
    }
    return;
  }
  with_dtype(dtype(), [&](auto dt) {
    with_dtype(src.dtype(), [&](auto st) { copy_typed<decltype(dt), decltype(st)>(*this, src); });
  });
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_from(*this);
  return t;
}

Tensor dense_f32(const Tensor& t) { return dense_as(t, DType::F32); }

Tensor dense_as(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype && t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), dtype, t.device());
  out.copy_from(t);
  return out;
}

Device same_device(const char* op, const std::vector<Tensor>& ts) {
  const Tensor* first = nullptr;
  for (const Tensor& t : ts) {
    if (!t.defined()) continue;
    if (!first) first = &t;
    else
      GT_CHECK(t.device() == first->device(), op, ": operands on different devices (", first->str(), " on the ",
               device_name(first->device()), ", ", t.str(), " on the ", device_name(t.device()), ")");
  }
  return first ? first->device() : Device::CPU;
}

DType result_dtype(const std::vector<Tensor>& ts) {
  bool all_bf16 = true, any = false, gpu = false;
  for (const Tensor& t : ts) {
    if (!t.defined()) continue;
    any = true;
    gpu = gpu || t.device() == Device::CUDA;
    all_bf16 = all_bf16 && t.dtype() == DType::BF16;
  }
  return gpu && any && all_bf16 ? DType::BF16 : DType::F32;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), d);
  out.copy_from(*this);
  if (is_floating(dtype()) && any_requires_grad({*this}))
    record("to_device", {*this}, {out}, [src = device()](GradSink& g) { g.add(0, g.out().to(src)); });
  return out;
}

std::vector<float> Tensor::to_floats() const {
  GT_CHECK(is_floating(dtype()), "to_floats: ", str(), " is not a float tensor");
  Tensor c = dense_f32(device() == Device::CPU ? *this : to(Device::CPU));
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

std::vector<int64_t> Tensor::to_ids() const {
  GT_CHECK(!is_floating(dtype()), "to_ids: ", str(), " is not an integer tensor");
  Tensor c = Tensor::empty(shape(), DType::I64);
  c.copy_from(*this);
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

float Tensor::item() const {
  GT_CHECK(numel() == 1, "item: tensor ", str(), " has more than one element");
  return to_floats()[0];
}

// ---- autograd accessors ----

bool Tensor::requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  auto& i = impl();
  GT_CHECK(!i.autograd || !i.autograd->grad_fn, "requires_grad_: only leaves can be marked, ", str(),
           " is the result of an op");
  GT_CHECK(!on || is_floating(i.dtype), "requires_grad_: integer tensor ", str(), " cannot have a gradient");
  if (!i.autograd) i.autograd = std::make_shared<AutogradMeta>();
  i.autograd->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !impl().autograd || !impl().autograd->grad_fn; }

bool Tensor::has_grad() const {
  const auto& a = impl().autograd;
  return a && (a->grad.defined() || !a->sparse_parts.empty());
}

Tensor Tensor::grad() const {
  const auto& a = impl().autograd;
  if (!a || a->sparse_parts.empty()) return a ? a->grad : Tensor();
  SparseRows s = sparse_grad(*this);
  Tensor dense = a->grad.defined() ? a->grad.clone() : Tensor::zeros(shape(), DType::F32, device());
  if (device() == Device::CUDA) {
    cuda::scatter_rows_add(dense, s.rows.to(Device::CUDA), s.values);
    return dense;
  }
  float* d = dense.data<float>();
  const int64_t cols = shape()[1];
  const int64_t* rows = s.rows.data<int64_t>();
  const float* v = s.values.data<float>();
  for (int64_t r = 0; r < s.rows.numel(); ++r)
    for (int64_t c = 0; c < cols; ++c) d[rows[r] * cols + c] += v[r * cols + c];
  return dense;
}

void Tensor::zero_grad() {
  if (auto& a = impl().autograd) {
    a->grad = Tensor();
    a->sparse_parts.clear();
  }
}

const std::string& Tensor::name() const {
  static const std::string empty_name;
  return impl().autograd ? impl().autograd->name : empty_name;
}

Tensor& Tensor::set_name(const std::string& n) {
  auto& i = impl();
  if (!i.autograd) i.autograd = std::make_shared<AutogradMeta>();
  i.autograd->name = n;
  return *this;
}

void Tensor::backward(const Tensor& grad) const {
  Tensor g = grad;
  if (!g.defined()) {
    GT_CHECK(numel() == 1, "backward: ", str(), " is not a scalar, so an upstream gradient must be given");
    g = Tensor::ones(shape()).to(device());
  }
  gt::backward({*this}, {g});
}

}  // namespace gt
