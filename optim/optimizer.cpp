#include "optim/optimizer.h"

#include <map>
#include <set>

#include "base/error.h"
#include "optim/kernels.h"

namespace gt {

using optim_detail::for_chunks;

Optimizer::Optimizer(const char* kind, std::vector<Tensor> params, double lr, PrecisionOptions precision)
    : kind_(kind), params_(std::move(params)), states_(params_.size()), lr_(lr), precision_(precision) {
  std::set<std::string> names;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    GT_CHECK(p.defined(), kind_, ": parameter ", i, " is undefined");
    const std::string& n = p.name();
    GT_CHECK(!n.empty(), kind_, ": parameter ", i, " (", p.str(), ") has no name, and the state is keyed by names");
    GT_CHECK(names.insert(n).second, kind_, ": parameter name '", n, "' appears twice");
    GT_CHECK(p.is_leaf() && p.requires_grad(), kind_, ": parameter '", n, "' is not a leaf that requires a gradient");
    GT_CHECK(p.dtype() == DType::F32 || p.dtype() == DType::BF16, kind_, ": parameter '", n, "' is ", p.str(),
             "; only f32 and bf16 parameters are supported");
    GT_CHECK(p.is_contiguous(), kind_, ": parameter '", n, "' must be contiguous");
    GT_CHECK(p.device() == params_[0].device(), kind_, ": parameter '", n, "' is on the ", device_name(p.device()),
             ", parameter '", params_[0].name(), "' on the ", device_name(params_[0].device()));
  }
}

void Optimizer::set_lr(double lr) {
  GT_CHECK(lr >= 0, kind_, ": learning rate must be >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

Tensor Optimizer::master(size_t i) const {
  const ParamState& ps = states_.at(i);
  return ps.master.defined() ? ps.master : dense_f32(params_[i]);
}

void Optimizer::init_state(size_t i) {
  const Tensor& p = params_[i];
  ParamState& ps = states_[i];
  if (p.dtype() == DType::BF16 && precision_.master_weights && p.device() == Device::CUDA) {
    ps.master = Tensor::empty(p.shape(), DType::F32, Device::CUDA);
    ps.master.copy_from(p);
  } else if (p.dtype() == DType::BF16 && precision_.master_weights) {
    ps.master = Tensor::empty(p.shape());
    float* m = ps.master.data<float>();
    const bf16* src = p.data<bf16>();
    for_chunks(p.numel(), [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) m[k] = bf16_to_float(src[k]);
    });
  }
  ps.slots.clear();
  for (const Slot& s : slot_layout(p)) ps.slots.push_back(Tensor::zeros(s.shape, DType::F32, p.device()));
}

namespace {
void check_sparse(const char* kind, const Tensor& p, const SparseRows& s) {
  GT_CHECK(p.dim() == 2 && s.rows.dim() == 1 && s.values.dim() == 2 && s.values.size(0) == s.rows.numel() &&
               s.values.size(1) == p.size(1) && s.values.dtype() == DType::F32 && s.values.is_contiguous(),
           kind, ": row-sparse gradient ", s.values.str(), " (rows ", s.rows.str(), ") does not fit parameter '",
           p.name(), "' ", p.str());
  const int64_t* r = s.rows.data<int64_t>();
  for (int64_t k = 0; k < s.rows.numel(); ++k)
    GT_CHECK(r[k] >= 0 && r[k] < p.size(0) && (k == 0 || r[k] > r[k - 1]), kind,
             ": row-sparse gradient of '", p.name(), "' must list rows in [0, ", p.size(0),
             ") sorted and unique; entry ", k, " is ", r[k]);
}
}  // namespace

void Optimizer::step() {
  NoGradGuard no_grad;
  ++steps_;
  non_finite_.clear();
  if (params_.empty()) return;
  flags_ = Tensor::zeros({static_cast<int64_t>(params_.size())}, DType::I32, params_[0].device());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const auto& meta = p.impl().autograd;
    const bool has_dense = meta && meta->grad.defined();
    const bool has_sparse = meta && !meta->sparse_parts.empty();
    if (!has_dense && !has_sparse) continue;
    Tensor dense;
    SparseRows sparse;
    if (has_dense) {
      dense = dense_f32(p.grad());  // dense plus any sparse parts
      GT_CHECK(dense.shape() == p.shape(), kind_, ": gradient ", dense.str(), " of parameter '", p.name(),
               "' does not match ", p.str());
    } else {
      sparse = sparse_grad(p);
      check_sparse(kind_, p, sparse);
    }
    ParamState& ps = states_[i];
    if (ps.step == 0) init_state(i);
    ++ps.step;
    update(i, ps, dense, sparse);
    if (!multi_tensor_) flush();
  }
  flush();
  // One small copy per step (a synchronisation on the GPU, which the step's end needs anyway).
  const Tensor flags = flags_.to(Device::CPU);
  for (size_t i = 0; i < params_.size(); ++i)
    if (flags.data<int32_t>()[i]) non_finite_.push_back(params_[i].name());
}

OptimizerState Optimizer::state() const {
  OptimizerState s;
  s.steps = steps_;
  s.lr = lr_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamState& ps = states_[i];
    if (ps.step == 0) continue;
    const std::string& n = params_[i].name();
    s.tensors.emplace_back(n + ".step", Tensor::from_ids({ps.step}, {}));
    if (ps.master.defined()) s.tensors.emplace_back(n + ".master", ps.master);
    const std::vector<Slot> layout = slot_layout(params_[i]);
    for (size_t j = 0; j < layout.size(); ++j) s.tensors.emplace_back(n + "." + layout[j].name, ps.slots[j]);
  }
  return s;
}

void Optimizer::load_state(const OptimizerState& s) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < params_.size(); ++i) index[params_[i].name()] = i;
  std::vector<ParamState> fresh(params_.size());
  std::vector<std::vector<bool>> seen(params_.size());
  std::vector<bool> has_master(params_.size(), false), any(params_.size(), false);
  std::vector<std::vector<Slot>> layouts(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    layouts[i] = slot_layout(params_[i]);
    seen[i].assign(layouts[i].size(), false);
  }
  std::set<std::string> names;
  for (const auto& [name, t] : s.tensors) {
    GT_CHECK(names.insert(name).second, kind_, " load_state: '", name, "' appears twice");
    const size_t dot = name.rfind('.');
    GT_CHECK(dot != std::string::npos && index.count(name.substr(0, dot)), kind_, " load_state: '", name,
             "' belongs to no parameter of this optimizer");
    const size_t i = index[name.substr(0, dot)];
    const std::string slot = name.substr(dot + 1);
    const Tensor& p = params_[i];
    GT_CHECK(t.defined(), kind_, " load_state: '", name, "' is undefined");
    any[i] = true;
    if (slot == "step") {
      GT_CHECK(t.numel() == 1 && !is_floating(t.dtype()), kind_, " load_state: '", name,
               "' must be one integer, got ", t.str());
      fresh[i].step = t.to_ids()[0];
      GT_CHECK(fresh[i].step >= 1, kind_, " load_state: '", name, "' is ", fresh[i].step, ", expected >= 1");
      continue;
    }
    Shape want;
    if (slot == "master") {
      GT_CHECK(p.dtype() == DType::BF16 && precision_.master_weights, kind_, " load_state: '", name,
               "' is a master copy, but parameter '", p.name(), "' (", p.str(), ") has none in this optimizer");
      want = p.shape();
      has_master[i] = true;
    } else {
      size_t j = 0;
      while (j < layouts[i].size() && layouts[i][j].name != slot) ++j;
      GT_CHECK(j < layouts[i].size(), kind_, " load_state: '", name, "' is not a state slot of parameter '",
               p.name(), "' with these options");
      want = layouts[i][j].shape;
      seen[i][j] = true;
    }
    GT_CHECK(t.dtype() == DType::F32 && t.shape() == want, kind_, " load_state: '", name, "' is ", t.str(),
             ", parameter '", p.name(), "' needs f32", shape_str(want));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name();
    if (!any[i]) continue;
    GT_CHECK(fresh[i].step >= 1, kind_, " load_state: parameter '", n, "' has state but no '", n, ".step'");
    for (size_t j = 0; j < layouts[i].size(); ++j)
      GT_CHECK(seen[i][j], kind_, " load_state: parameter '", n, "' is missing '", n, ".", layouts[i][j].name, "'");
    GT_CHECK(has_master[i] || params_[i].dtype() != DType::BF16 || !precision_.master_weights, kind_,
             " load_state: parameter '", n, "' is missing '", n, ".master'");
  }
  // Everything is checked; the lr goes through set_lr so that an optimizer that takes none can refuse it.
  if (s.lr != lr_) set_lr(s.lr);
  for (const auto& [name, t] : s.tensors) {
    const size_t dot = name.rfind('.');
    const size_t i = index[name.substr(0, dot)];
    const std::string slot = name.substr(dot + 1);
    if (slot == "step") continue;
    // A copy on the parameter's device (a state read from a file is on the CPU).
    const Device dev = params_[i].device();
    const Tensor copy = t.device() == dev ? t.clone() : t.to(dev);
    if (slot == "master") {
      fresh[i].master = copy;
      continue;
    }
    if (fresh[i].slots.empty()) fresh[i].slots.resize(layouts[i].size());
    size_t j = 0;
    while (layouts[i][j].name != slot) ++j;
    fresh[i].slots[j] = copy;
  }
  states_ = std::move(fresh);
  steps_ = s.steps;
}

}  // namespace gt
