#pragma once
// Reverse-mode autograd: a dynamic tape of nodes, each an op's backward with the activations it saved.
//
// Every op that sees an input needing a gradient records a Node (in op order, numbered by a global sequence).
// backward() collects the nodes reachable from the roots and runs them in reverse recording order; each node's
// closure, and with it every activation it saved, is released as soon as it has run. Gradients of leaves
// accumulate across uses and across backward calls until zero_grad().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace gt {

struct Node;

// Row-sparse gradient of a 2-D table [rows, cols]: the listed rows (int64, sorted, unique) and their values.
struct SparseRows {
  Tensor rows;    // i64 [n], always on the CPU (the optimizer plans its step from them)
  Tensor values;  // f32 [n, cols], on the table's device
  bool defined() const { return rows.defined(); }
};

struct AutogradMeta {
  bool requires_grad = false;
  std::string name;
  // Leaves only.
  Tensor grad;  // dense, f32 on the leaf's device
  std::vector<SparseRows> sparse_parts;  // pieces from embedding lookups, merged on read
  bool sparse_grad = false;  // this leaf accepts row-sparse gradients (embedding tables)
  // Results of recorded ops only.
  std::shared_ptr<Node> grad_fn;
  int out_index = 0;
};

// What a backward closure sees: the upstream gradients of the node's outputs, and where to send the gradients
// of its inputs (by position in the input list given to record()).
class GradSink {
 public:
  // Upstream gradient of output i, zeros if none flowed there; contiguous, on the output's device, f32 on the CPU
  // and in the output's dtype on the GPU (bf16 activations have bf16 gradients there, as in PyTorch).
  const Tensor& out(size_t i = 0) const;
  bool needs(size_t input) const;  // whether input `input` wants a gradient
  void add(size_t input, const Tensor& g);
  // A row-sparse gradient for a 2-D input: accumulated sparsely into leaves that accept it, densified otherwise.
  // rows: i64 on the CPU, sorted and unique; values [rows, cols] on the input's device.
  void add_rows(size_t input, const Tensor& rows, const Tensor& values);

 private:
  friend void run_node(Node& node);
  Node* node_ = nullptr;
};

using BackwardFn = std::function<void(GradSink&)>;

struct Node {
  const char* op = "";
  uint64_t seq = 0;
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where the input needs no gradient
  std::vector<Shape> input_shapes;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  Device device = Device::CPU;  // of the outputs
  std::vector<Tensor> grads;  // upstream gradients, one slot per output, filled during backward
  BackwardFn fn;  // reset after it runs: that frees the saved activations
};

// Gradient recording is on by default; NoGradGuard turns it off for a scope (inference, optimizer updates).
bool grad_enabled();
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

// True when recording is on and any of `inputs` needs a gradient: ops call this before building a closure.
bool any_requires_grad(std::initializer_list<Tensor> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attach a node computing the gradients of `inputs` to `outputs` (which must not be recorded yet). The closure
// must capture saved tensors with detach(), never the outputs themselves: that would keep the graph alive.
void record(const char* op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, BackwardFn fn);

// Backward from several roots at once, each with its upstream gradient (same shape as the root).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads);

// The merged row-sparse gradient of a leaf that accepts one (undefined if none arrived).
SparseRows sparse_grad(const Tensor& leaf);
// Marks an embedding table leaf so lookups leave a row-sparse gradient instead of a dense one.
void set_sparse_grad(Tensor& leaf, bool on = true);

// Gradient checkpointing: runs fn without recording and keeps only its inputs; backward runs fn again with
// recording on and backpropagates through that copy. Parameters that fn closes over receive their gradients
// during the recomputation. fn must be deterministic.
using SegmentFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
std::vector<Tensor> checkpoint(const SegmentFn& fn, const std::vector<Tensor>& inputs);

// An ordered, named set of trainable tensors (a model's state).
class NamedParameters {
 public:
  Tensor add(const std::string& name, Tensor t, bool trainable = true);  // returns a handle to the stored tensor
  Tensor& at(const std::string& name);
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const;
  const std::vector<std::pair<std::string, Tensor>>& items() const { return items_; }
  std::vector<Tensor> trainable() const;
  void zero_grad();
  size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, Tensor>> items_;
};

}  // namespace gt
