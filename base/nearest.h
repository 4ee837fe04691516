#pragma once
// "Did you mean ...?": the nearest of some known names to a misspelt one, for config keys and command-line flags.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt {

// Edits (insert, delete, substitute, or swap two neighbours) that turn `a` into `b` (optimal string alignment), so
// "conifg" is one edit from "config".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is at most `max_edits` away (ties: the first listed), else none.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates,
                                   std::size_t max_edits);

// nearest() with the allowance a typo in a name of that length gets: 1 edit up to 4 letters, 2 up to 8, then 3.
std::optional<std::string> nearest_name(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" for nearest_name's answer, or "" when there is none.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace gt
