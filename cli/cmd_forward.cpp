// `gemma-tune forward`: logits and causal-LM loss of one token sequence, as transformers computes them with
// labels = input_ids. `gemma-tune convert`: re-save a checkpoint in the layout it was read from.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "cli/command.h"
#include "model/gemma4.h"
#include "model/safetensors.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Peak resident memory of this process so far (VmHWM), in MiB; -1 where /proc is unavailable.
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> ids;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GT_CHECK(used == tok.size() && !tok.empty() && v >= 0, "--ids: \"", tok, "\" is not a token id");
    ids.push_back(v);
  }
  GT_CHECK(!ids.empty(), "--ids: no token ids given");
  return ids;
}

gt::StoragePolicy parse_storage(const std::string& s) {
  if (s == "keep") return gt::StoragePolicy::Keep;
  if (s == "f32") return gt::StoragePolicy::F32;
  if (s == "bf16") return gt::StoragePolicy::BF16;
  gt::fail("--dtype must be keep, f32 or bf16, got \"", s, "\"");
}

gt::cli::Registrar forward_reg("forward", [](CLI::App& app) {
  auto* sub = app.add_subcommand("forward", "Logits [T, V] and causal-LM loss of one token sequence");
  auto model = std::make_shared<std::string>();
  auto ids = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("keep");
  sub->add_option("--model", *model, "Checkpoint folder (config.json + safetensors)")->required();
  sub->add_option("--ids", *ids, "Comma-separated token ids, e.g. 2,17,9")->required();
  sub->add_option("--out", *out, "Output .safetensors with logits [T, V] f32 and loss [1] f32")->required();
  sub->add_option("--dtype", *dtype, "Parameter storage: keep (as on disk), f32 or bf16");
  auto hidden = std::make_shared<bool>(false);
  sub->add_flag("--hidden-states", *hidden,
                "Also write hidden.0 (scaled embeddings) and hidden.N (output of layer N-1, before the final norm)");
  auto adapter = std::make_shared<std::string>();
  sub->add_option("--adapter", *adapter, "A LoRA adapter folder (peft's layout) to apply on top of --model");
  auto device = std::make_shared<std::string>("cpu");
  gt::cli::add_device_option(sub, *device);
  gt::cli::set_job(sub, [=] {
    const std::vector<int64_t> tokens = parse_ids(*ids);
    const gt::Device dev = gt::cli::parse_device(*device);
    const auto t0 = Clock::now();
    gt::LoadOptions lo;
    lo.storage = parse_storage(*dtype);
    gt::Gemma4 m = gt::Gemma4::load(*model, lo);
    if (!adapter->empty()) m.set_adapter(gt::LoraAdapter::load(*adapter, m));
    m.to(dev);
    std::cerr << "forward: loaded " << *model << " in " << seconds_since(t0) << " s ("
              << gt::dtype_name(m.state().at("embed_tokens.weight").dtype()) << " storage)\n";
    const auto t1 = Clock::now();
    gt::NoGradGuard no_grad;
    const int64_t T = static_cast<int64_t>(tokens.size());
    const gt::Tensor id = gt::Tensor::from_ids(tokens, {1, T});
    std::vector<gt::Tensor> states;
    gt::ForwardOptions fo;
    if (*hidden) fo.hidden_states = &states;
    const gt::Tensor logits = m.logits(id, fo);
    const gt::Tensor loss = gt::causal_lm_loss(logits, id);
    std::cerr << "forward: " << T << " tokens in " << seconds_since(t1) << " s, loss " << loss.item()
              << ", peak RSS " << peak_rss_mib() << " MiB\n";
    // Written as f32 from the host, whatever the device and dtype computed them.
    auto host = [](const gt::Tensor& t) { return gt::dense_f32(t.to(gt::Device::CPU)); };
    std::vector<std::pair<std::string, gt::Tensor>> tensors{
        {"logits", host(logits.reshape({T, m.config().vocab_size}))}, {"loss", host(loss.reshape({1}))}};
    for (size_t i = 0; i < states.size(); ++i)
      tensors.emplace_back("hidden." + std::to_string(i), host(states[i].reshape({T, -1})));
    gt::save_safetensors(*out, tensors);
    return 0;
  });
});

gt::cli::Registrar convert_reg("convert", [](CLI::App& app) {
  auto* sub = app.add_subcommand("convert", "Re-save a checkpoint (same layout and prefix), optionally as f32 or bf16");
  auto model = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("keep");
  sub->add_option("--model", *model, "Checkpoint folder to read")->required();
  sub->add_option("--out", *out, "Folder to write (config.json + model.safetensors)")->required();
  sub->add_option("--dtype", *dtype, "keep, f32 or bf16");
  gt::cli::set_job(sub, [=] {
    gt::LoadOptions lo;
    lo.storage = parse_storage(*dtype);
    const gt::Gemma4 m = gt::Gemma4::load(*model, lo);
    m.save(*out);
    std::cerr << "convert: wrote " << *out << "\n";
    return 0;
  });
});

}  // namespace
