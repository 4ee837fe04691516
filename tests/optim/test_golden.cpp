// Trajectories against transformers' Adafactor and torch.optim.AdamW (fixtures from
// tests/golden/make_optim_fixtures.py). Error measure, per tensor: max_i |ours_i - ref_i| / max_i |ref_i|
// (scaled_error), required <= 1e-6 for every parameter after every step, for the step sizes and for the final state.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "helpers.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"

using namespace gt;
using namespace gt::testing;
using json = nlohmann::json;

namespace {

constexpr double kTol = 1e-6;

json load(const std::string& file) {
  const std::string path = std::string(GT_FIXTURES) + "/optim/" + file;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("missing fixture " + path + " (tests/golden/make_optim_fixtures.py writes it)");
  return json::parse(f);
}

float hexf(const json& s) { return static_cast<float>(std::strtod(s.get<std::string>().c_str(), nullptr)); }

std::vector<float> hexv(const json& a) {
  std::vector<float> v;
  for (const auto& x : a) v.push_back(hexf(x));
  return v;
}

std::vector<float> numv(const json& a) {
  std::vector<float> v;
  for (const auto& x : a) v.push_back(static_cast<float>(x.get<double>()));
  return v;
}

AdafactorOptions adafactor_options(const json& o) {
  AdafactorOptions a;
  a.lr = o.at("lr").is_null() ? std::nullopt : std::optional<double>(o.at("lr").get<double>());
  if (o.contains("eps")) {
    a.eps1 = o["eps"][0].get<double>();
    a.eps2 = o["eps"][1].get<double>();
  }
  if (o.contains("clip_threshold")) a.clip_threshold = o["clip_threshold"].get<double>();
  if (o.contains("decay_rate")) a.decay_rate = o["decay_rate"].get<double>();
  if (o.contains("beta1")) a.beta1 = o["beta1"].get<double>();
  if (o.contains("weight_decay")) a.weight_decay = o["weight_decay"].get<double>();
  a.scale_parameter = o.at("scale_parameter").get<bool>();
  a.relative_step = o.at("relative_step").get<bool>();
  a.warmup_init = o.at("warmup_init").get<bool>();
  return a;
}

AdamWOptions adamw_options(const json& o) {
  AdamWOptions a;
  a.lr = o.at("lr").get<double>();
  a.beta1 = o.at("betas")[0].get<double>();
  a.beta2 = o.at("betas")[1].get<double>();
  a.eps = o.at("eps").get<double>();
  a.weight_decay = o.at("weight_decay").get<double>();
  a.amsgrad = o.at("amsgrad").get<bool>();
  return a;
}

struct Worst {
  double params = 0, delta = 0, lr = 0, state = 0;
};

std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

// Replays one case. With sparse_table the table's gradient arrives row-sparse (only the rows the fixture's
// gradient touches), as an embedding lookup leaves it.
Worst replay(const json& doc, const json& c, const Make& make, bool sparse_table) {
  const std::string label = c["name"].get<std::string>() + (sparse_table ? " (sparse table)" : "");
  std::vector<std::string> names;
  std::vector<Tensor> params;
  for (const auto& [n, shape] : doc["shapes"].items()) {
    names.push_back(n);
    params.push_back(named_param(n, hexv(doc["init"][n]), shape.get<Shape>()));
  }
  std::unique_ptr<Optimizer> opt = make(params);
  const auto* ada = dynamic_cast<const Adafactor*>(opt.get());
  Worst w;
  const int steps = doc["steps"].get<int>();
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < params.size(); ++i) {
      const std::vector<float> g = numv(doc["grads"][s][names[i]]);
      if (sparse_table && names[i] == "table") {
        const int64_t cols = params[i].size(1);
        std::vector<int64_t> rows = doc["table_rows"][s].get<std::vector<int64_t>>();
        std::vector<float> vals;
        for (int64_t r : rows) vals.insert(vals.end(), g.begin() + r * cols, g.begin() + (r + 1) * cols);
        give_sparse_grad(params[i], rows, vals);
      } else {
        give_dense_grad(params[i], Tensor::from_vector(g, params[i].shape()));
      }
    }
    opt->step();
    opt->zero_grad();
    const json& rec = c["trajectory"][s];
    for (size_t i = 0; i < params.size(); ++i) {
      const double e = scaled_error(params[i].to_floats(), hexv(rec["params"][names[i]]));
      w.params = std::max(w.params, e);
      EXPECT_LE(e, kTol) << label << ": " << names[i] << " after step " << s + 1;
      // Reported only: the displacement from the start, where float32 rounding of W dominates small steps.
      const std::vector<float> init = hexv(doc["init"][names[i]]);
      w.delta = std::max(w.delta, scaled_error(minus(params[i].to_floats(), init),
                                               minus(hexv(rec["params"][names[i]]), init)));
      if (ada && rec.contains("lr")) {
        const double ref = hexf(rec["lr"][names[i]]);
        const double el = std::fabs(ada->step_size(i) - ref) / std::fabs(ref);
        w.lr = std::max(w.lr, el);
        EXPECT_LE(el, kTol) << label << ": step size of " << names[i] << " at step " << s + 1;
      }
    }
  }
  const OptimizerState st = opt->state();
  size_t compared = 0;
  for (const auto& [n, slots] : c["final_state"].items()) {
    for (const auto& [slot, ref] : slots.items()) {
      const std::string key = n + "." + slot;
      auto it = std::find_if(st.tensors.begin(), st.tensors.end(), [&](const auto& e) { return e.first == key; });
      if (it == st.tensors.end()) {
        ADD_FAILURE() << label << ": no state " << key;
        continue;
      }
      EXPECT_EQ(it->second.shape(), ref["shape"].get<Shape>()) << label << ": " << key;
      const double e = scaled_error(it->second.to_floats(), hexv(ref["values"]));
      w.state = std::max(w.state, e);
      EXPECT_LE(e, kTol) << label << ": state " << key;
      ++compared;
    }
  }
  // Ours holds the same slots plus one step count per parameter.
  EXPECT_EQ(st.tensors.size(), compared + params.size()) << label;
  std::printf("[golden] %-37s params %.2e  displacement %.2e  step size %.2e  final state %.2e\n", label.c_str(),
              w.params, w.delta, w.lr, w.state);
  return w;
}

}  // namespace

TEST(Golden, AdafactorMatchesTransformers) {
  const json doc = load("adafactor.json");
  ASSERT_EQ(doc["cases"].size(), 5u);
  for (const auto& c : doc["cases"]) {
    const AdafactorOptions o = adafactor_options(c["options"]);
    const Make make = [&](std::vector<Tensor> ps) { return std::make_unique<Adafactor>(std::move(ps), o); };
    for (bool sparse : {false, true}) replay(doc, c, make, sparse);
  }
}

TEST(Golden, AdamWMatchesTorch) {
  const json doc = load("adamw.json");
  ASSERT_EQ(doc["cases"].size(), 2u);
  for (const auto& c : doc["cases"]) {
    const AdamWOptions o = adamw_options(c["options"]);
    const Make make = [&](std::vector<Tensor> ps) { return std::make_unique<AdamW>(std::move(ps), o); };
    for (bool sparse : {false, true}) replay(doc, c, make, sparse);
  }
}
