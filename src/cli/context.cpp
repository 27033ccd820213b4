#include "cli/context.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "core/base/text.h"

namespace rollsafe::cli {

void Context::print_json(const nlohmann::json& doc) const {
    std::cout << doc.dump(2) << std::endl;
}

void Context::print(const std::string& text) const {
    std::cout << text;
    if (!text.empty() && text.back() != '\n')
        std::cout << '\n';
    std::cout.flush();
}

bool Context::interactive() const {
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

bool Context::confirm(const std::string& question) const {
    if (!isatty(STDIN_FILENO))
        return false;
    std::cerr << question << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer))
        return false;
    auto a = text::to_lower(text::trim(answer));
    return a == "y" || a == "yes";
}

}  // namespace rollsafe::cli
