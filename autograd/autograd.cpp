#include "autograd/autograd.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <unordered_set>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/row_groups.h"
#include "base/error.h"

namespace gt {

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<uint64_t> g_seq{0};

// Out-of-place accumulation: a gradient tensor may be shared by several consumers (add sends one tensor to both
// of its inputs), so it is never modified in place. Leaves keep f32 gradients; on the GPU a gradient in flight
// keeps its dtype (GradSink::out converts it to the output's).
Tensor accumulate(const Tensor& acc, const Tensor& g, bool leaf) {
  if (!acc.defined()) return leaf || g.device() == Device::CPU ? dense_f32(g) : g;
  NoGradGuard ng;
  const Tensor s = add(acc, g);
  return leaf ? dense_f32(s) : s;
}

void check_grad_shape(const Node& node, size_t i, const Shape& want, const Tensor& g) {
  GT_CHECK(g.shape() == want, "backward of ", node.op, ": gradient for input ", i, " has shape ",
           shape_str(g.shape()), ", expected ", shape_str(want));
}

// Merge of row-sparse pieces on the GPU: the host groups the row ids, the device sums each group's rows in
// piece order (the order of the CPU merge below).
SparseRows merge_rows_cuda(const std::vector<SparseRows>& parts, int64_t cols) {
  std::vector<int64_t> ids;
  std::vector<Tensor> values;
  for (const auto& p : parts) {
    const std::vector<int64_t> r = p.rows.to_ids();
    ids.insert(ids.end(), r.begin(), r.end());
    values.push_back(p.values);
  }
  NoGradGuard ng;
  const Tensor all = concat(values, 0);
  const RowGroups g = group_rows(ids);
  SparseRows out{Tensor::from_ids(g.rows, {g.count()}), Tensor::empty({g.count(), cols}, DType::F32, Device::CUDA)};
  cuda::group_rows_sum(all, Tensor::from_ids(g.order, {static_cast<int64_t>(g.order.size())}).to(Device::CUDA),
                       Tensor::from_ids(g.starts, {g.count() + 1}).to(Device::CUDA), out.values);
  return out;
}

// Merge row-sparse pieces: sorted unique rows, summed values.
SparseRows merge_rows(const std::vector<SparseRows>& parts, int64_t cols) {
  if (parts.size() == 1) return parts[0];
  if (parts[0].values.device() == Device::CUDA) return merge_rows_cuda(parts, cols);
  std::map<int64_t, std::vector<float>> acc;
  for (const auto& p : parts) {
    const int64_t* r = p.rows.data<int64_t>();
    const float* v = p.values.data<float>();
    for (int64_t i = 0; i < p.rows.numel(); ++i) {
      auto& row = acc[r[i]];
      if (row.empty()) row.assign(static_cast<size_t>(cols), 0.f);
      for (int64_t c = 0; c < cols; ++c) row[static_cast<size_t>(c)] += v[i * cols + c];
    }
  }
  SparseRows out{Tensor::empty({static_cast<int64_t>(acc.size())}, DType::I64),
                 Tensor::empty({static_cast<int64_t>(acc.size()), cols})};
  int64_t* r = out.rows.data<int64_t>();
  float* v = out.values.data<float>();
  int64_t i = 0;
  for (auto& [row, vals] : acc) {
    r[i] = row;
    std::copy(vals.begin(), vals.end(), v + i * cols);
    ++i;
  }
  return out;
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
GradModeGuard::GradModeGuard(bool enabled) : prev_(g_grad_enabled) { g_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { g_grad_enabled = prev_; }

bool any_requires_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, BackwardFn fn) {
  auto node = std::make_shared<Node>();
  node->op = op;
  node->seq = g_seq.fetch_add(1);
  for (const auto& t : inputs) {
    node->inputs.push_back(t.defined() && t.requires_grad() ? t.impl().autograd : nullptr);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  node->device = outputs.empty() ? Device::CPU : outputs[0].device();
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto& impl = outputs[i].impl();
    GT_CHECK(!impl.autograd || !impl.autograd->grad_fn, "record(", op, "): output ", i, " is already recorded");
    node->output_dtypes.push_back(impl.dtype);
    if (!impl.autograd) impl.autograd = std::make_shared<AutogradMeta>();
    impl.autograd->requires_grad = true;
    impl.autograd->grad_fn = node;
    impl.autograd->out_index = static_cast<int>(i);
    node->output_shapes.push_back(impl.shape);
  }
  node->grads.resize(outputs.size());
  node->fn = std::move(fn);
}

// ---- GradSink ----

const Tensor& GradSink::out(size_t i) const {
  Tensor& g = node_->grads.at(i);
  // Views pass their gradient on as views (a permute's backward is a permute), so densify once here: every
  // backward closure may then assume a contiguous upstream gradient of the documented dtype.
  const DType dt = node_->device == Device::CPU ? DType::F32 : node_->output_dtypes[i];
  if (!g.defined()) g = Tensor::zeros(node_->output_shapes[i], dt, node_->device);
  else g = dense_as(g, dt);
  return g;
}

bool GradSink::needs(size_t input) const { return input < node_->inputs.size() && node_->inputs[input] != nullptr; }

void GradSink::add(size_t input, const Tensor& g) {
  if (!needs(input)) return;
  check_grad_shape(*node_, input, node_->input_shapes[input], g);
  AutogradMeta& meta = *node_->inputs[input];
  if (meta.grad_fn) {
    Tensor& slot = meta.grad_fn->grads[static_cast<size_t>(meta.out_index)];
    slot = accumulate(slot, g, false);
  } else {
    meta.grad = accumulate(meta.grad, g, true);
  }
}

void GradSink::add_rows(size_t input, const Tensor& rows, const Tensor& values) {
  if (!needs(input)) return;
  const Shape& shape = node_->input_shapes[input];
  GT_CHECK(shape.size() == 2 && values.dim() == 2 && values.size(1) == shape[1] && rows.numel() == values.size(0),
           "backward of ", node_->op, ": row-sparse gradient ", values.str(), " does not fit input ",
           shape_str(shape));
  AutogradMeta& meta = *node_->inputs[input];
  if (!meta.grad_fn && meta.sparse_grad) {
    meta.sparse_parts.push_back({rows, dense_f32(values)});
    return;
  }
  if (values.device() == Device::CUDA) {
    Tensor dense = Tensor::zeros(shape, DType::F32, Device::CUDA);
    cuda::scatter_rows_add(dense, rows.to(Device::CUDA), values);
    add(input, dense);
    return;
  }
  Tensor dense = Tensor::zeros(shape);
  float* d = dense.data<float>();
  const Tensor v = dense_f32(values);
  const float* vp = v.data<float>();
  const std::vector<int64_t> r = rows.to_ids();
  for (size_t i = 0; i < r.size(); ++i)
    for (int64_t c = 0; c < shape[1]; ++c) d[r[i] * shape[1] + c] += vp[static_cast<int64_t>(i) * shape[1] + c];
  add(input, dense);
}

void run_node(Node& node) {
  GT_CHECK(node.fn, "backward through ", node.op,
           " a second time: its saved activations were released after the first backward");
  GradSink sink;
  sink.node_ = &node;
  {
    NoGradGuard ng;
    node.fn(sink);
  }
  node.fn = nullptr;  // frees what the closure saved
  node.grads.clear();
  node.grads.resize(node.output_shapes.size());
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads) {
  GT_CHECK(roots.size() == grads.size(), "backward: ", roots.size(), " roots but ", grads.size(), " gradients");
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    GT_CHECK(r.requires_grad(), "backward: root ", i, " (", r.str(), ") does not require a gradient");
    GT_CHECK(grads[i].shape() == r.shape(), "backward: gradient ", grads[i].str(), " for root ", r.str());
    GT_CHECK(grads[i].device() == r.device(), "backward: gradient for root ", i, " is on the ",
             device_name(grads[i].device()), ", the root on the ", device_name(r.device()));
    auto& meta = *r.impl().autograd;
    if (!meta.grad_fn) {
      meta.grad = accumulate(meta.grad, grads[i], true);
      continue;
    }
    Tensor& slot = meta.grad_fn->grads[static_cast<size_t>(meta.out_index)];
    slot = accumulate(slot, grads[i], false);
    if (seen.insert(meta.grad_fn.get()).second) {
      order.push_back(meta.grad_fn);
      stack.push_back(meta.grad_fn.get());
    }
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& in : n->inputs)
      if (in && in->grad_fn && seen.insert(in->grad_fn.get()).second) {
        order.push_back(in->grad_fn);
        stack.push_back(in->grad_fn.get());
      }
  }
  // Reverse recording order is a valid topological order: an op's inputs were all made before it ran.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a->seq > b->seq; });
  for (auto& n : order) {
    const bool any = std::any_of(n->grads.begin(), n->grads.end(), [](const Tensor& g) { return g.defined(); });
    if (any) run_node(*n);
  }
}

SparseRows sparse_grad(const Tensor& leaf) {
  const auto& a = leaf.impl().autograd;
  if (!a || a->sparse_parts.empty()) return {};
  if (a->sparse_parts.size() > 1) {
    SparseRows merged = merge_rows(a->sparse_parts, leaf.shape()[1]);
    a->sparse_parts = {merged};
  }
  return a->sparse_parts[0];
}

void set_sparse_grad(Tensor& leaf, bool on) {
  GT_CHECK(leaf.is_leaf() && leaf.dim() == 2, "set_sparse_grad: needs a 2-D leaf, got ", leaf.str());
  leaf.requires_grad_(leaf.requires_grad());
  leaf.impl().autograd->sparse_grad = on;
}

// ---- checkpointing ----

std::vector<Tensor> checkpoint(const SegmentFn& fn, const std::vector<Tensor>& inputs) {
  if (!any_requires_grad(inputs)) {
    // Nothing upstream needs a gradient, but parameters inside the segment may: then it is recorded as usual.
    return fn(inputs);
  }
  std::vector<Tensor> outputs;
  {
    NoGradGuard ng;
    outputs = fn(inputs);
  }
  std::vector<Tensor> saved;
  for (const auto& t : inputs) saved.push_back(t.detach());
  std::vector<bool> need;
  for (const auto& t : inputs) need.push_back(t.requires_grad());
  // Results of the no-grad run are fresh tensors, so they can carry this node. Aliases of inputs cannot.
  for (auto& o : outputs)
    for (const auto& i : inputs)
      if (o.same(i)) o = o.detach();
  record("checkpoint", inputs, outputs, [fn, saved, need](GradSink& g) {
    std::vector<Tensor> again;
    for (size_t i = 0; i < saved.size(); ++i) {
      Tensor t = saved[i].detach();
      if (need[i]) t.requires_grad_();
      again.push_back(t);
    }
    std::vector<Tensor> outs;
    {
      GradModeGuard on(true);
      outs = fn(again);
    }
    std::vector<Tensor> roots, grads;
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i].requires_grad()) {
        roots.push_back(outs[i]);
        grads.push_back(g.out(i));
      }
    if (!roots.empty()) backward(roots, grads);
    for (size_t i = 0; i < again.size(); ++i)
      if (need[i] && again[i].has_grad()) g.add(i, again[i].grad());
  });
  return outputs;
}

// ---- NamedParameters ----

Tensor NamedParameters::add(const std::string& name, Tensor t, bool trainable) {
  GT_CHECK(!contains(name), "NamedParameters: duplicate name ", name);
  t.set_name(name);
  if (trainable) t.requires_grad_();
  items_.emplace_back(name, std::move(t));
  return items_.back().second;
}

bool NamedParameters::contains(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& p) { return p.first == name; });
}

Tensor& NamedParameters::at(const std::string& name) {
  for (auto& p : items_)
    if (p.first == name) return p.second;
  fail("NamedParameters: no parameter named ", name);
}

const Tensor& NamedParameters::at(const std::string& name) const {
  return const_cast<NamedParameters*>(this)->at(name);
}

std::vector<Tensor> NamedParameters::trainable() const {
  std::vector<Tensor> out;
  for (const auto& p : items_)
    if (p.second.requires_grad()) out.push_back(p.second);
  return out;
}

void NamedParameters::zero_grad() {
  for (auto& p : items_) p.second.zero_grad();
}

}  // namespace gt
