#pragma once
// Optimizer base: the parameter list, per-parameter state, fp32 master weights for bf16 parameters, and the named
// state that a checkpoint saves for an exact resume.
//
// State is per parameter and created on the parameter's first step, as torch does: a parameter that never had a
// gradient has none, and its step count (which drives bias corrections and Adafactor's decay) only advances on
// steps where it had a gradient. A step skips parameters without a gradient.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/tensor.h"

namespace gt {

// How an updated value is written into a bf16 parameter.
enum class Rounding : uint8_t { NearestEven, Stochastic };

struct PrecisionOptions {
  // An f32 copy of every bf16 parameter is what the optimizer updates; the parameter receives its rounding after
  // each step. Without it the step reads the bf16 value and rounds the result back (what transformers does), so
  // with nearest rounding any change below half a bf16 ulp is lost (docs/pitfalls.md item 3).
  bool master_weights = true;
  Rounding rounding = Rounding::NearestEven;
  // Stochastic rounding draws from a hash of (seed, parameter index, the parameter's step, element index): no RNG
  // state to save, the same draws after a resume, and the same result on any number of threads.
  uint64_t seed = 0;
};

// Everything an optimizer needs to continue exactly. `tensors` holds, per parameter that has state,
// "<name>.step" (i64, one element), "<name>.master" (bf16 parameters with master weights) and one entry per
// slot, "<name>.<slot>" (f32; slot names as in torch, e.g. exp_avg_sq_row). The tensors returned by state() are
// the live ones, not copies (the tables are large): serialise them before the next step.
struct OptimizerState {
  int64_t steps = 0;  // step() calls
  double lr = 0;
  std::vector<std::pair<std::string, Tensor>> tensors;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void step();
  // The parameters that the last step() left holding a NaN or an infinity (their names, in parameter order),
  // found by the update's own pass over the weights; empty when every updated value is finite.
  const std::vector<std::string>& non_finite() const { return non_finite_; }
  void zero_grad();
  // GPU parameters take their step together, in one sequence of launches for all of them (the default), or one
  // parameter at a time: the same arithmetic and the same bits either way (tests compare the two).
  void set_multi_tensor(bool on) { multi_tensor_ = on; }
  virtual void set_lr(double lr);
  double lr() const { return lr_; }
  int64_t steps() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }
  // Steps parameter i has taken (0 before its first gradient).
  int64_t param_step(size_t i) const { return states_.at(i).step; }
  // The f32 values the optimizer works on: the master copy of a bf16 parameter once it exists, else the parameter.
  Tensor master(size_t i) const;

  OptimizerState state() const;
  // Replaces all state after checking every name, dtype and shape against the parameters; on error nothing
  // changes. A parameter absent from `s` starts fresh.
  void load_state(const OptimizerState& s);

 protected:
  struct Slot {
    std::string name;
    Shape shape;
  };
  struct ParamState {
    int64_t step = 0;
    Tensor master;  // f32, bf16 parameters with master weights only
    std::vector<Tensor> slots;  // f32, in slot_layout() order
  };

  // `params` must be distinct named leaves (names unique, as they key the state), contiguous, all on one device
  // (the state lives there too).
  Optimizer(const char* kind, std::vector<Tensor> params, double lr, PrecisionOptions precision);

  // The state slots of a parameter, created as zeros on its first step.
  virtual std::vector<Slot> slot_layout(const Tensor& param) const = 0;
  // One step of parameter i, whose ps.step already counts it. Exactly one of `dense` (f32, contiguous, the
  // parameter's shape) and `sparse` (checked rows of a 2-D table) is defined.
  // A GPU update may only queue its work; flush() runs what is queued, and step() calls it after the last update
  // (and after each one without multi_tensor).
  virtual void update(size_t i, ParamState& ps, const Tensor& dense, const SparseRows& sparse) = 0;
  virtual void flush() {}

  const PrecisionOptions& precision() const { return precision_; }
  const char* kind() const { return kind_; }
  // Where update(i, ...) reports a non-finite weight (an int on the parameters' device): the weight accessors
  // (kernels.h, cuda/weights.cuh) set it.
  int* non_finite_flag(size_t i) const { return static_cast<int*>(flags_.raw()) + i; }

 private:
  void init_state(size_t i);

  const char* kind_;
  std::vector<Tensor> params_;
  std::vector<ParamState> states_;
  double lr_;
  int64_t steps_ = 0;
  PrecisionOptions precision_;
  bool multi_tensor_ = true;
  Tensor flags_;  // i32 [params], zeroed by each step
  std::vector<std::string> non_finite_;
};

}  // namespace gt
