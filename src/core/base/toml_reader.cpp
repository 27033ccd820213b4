// The only translation unit that includes toml++ (a heavy header-only library).
#include "core/base/toml_reader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

#include "core/base/error.h"

namespace rollsafe {
namespace {

std::string print(const toml::node& node) {
    std::ostringstream os;
    node.visit([&](auto&& el) { os << el; });
    return os.str();
}

// Flattens node (named `key`, whose name is written at key_pos) into leaves.
void flatten(const toml::node& node, const std::string& key, const toml::source_region& key_pos,
             std::vector<TomlValue>& out) {
    TomlValue v;
    v.key = key;
    // Point at the key ("statment = 1" -> column 1), not at its value; fall back to the value.
    auto src = key_pos.begin.line ? key_pos : node.source();
    v.line = static_cast<int>(src.begin.line);
    v.col = static_cast<int>(src.begin.column);
    if (auto* t = node.as_table()) {
        if (t->empty()) {
            v.type = TomlValue::Type::table;
            out.push_back(v);
        }
        // Keep document order: toml++ tables are ordered by key, so sort children by position.
        struct Kid {
            std::string name;
            toml::source_region pos;
            const toml::node* node;
        };
        std::vector<Kid> kids;
        for (auto&& [k, child] : *t)
            kids.push_back({std::string(k.str()), k.source(), &child});
        auto begin_of = [](const Kid& kid) {
            return kid.pos.begin.line ? kid.pos.begin : kid.node->source().begin;
        };
        std::stable_sort(kids.begin(), kids.end(), [&](const Kid& a, const Kid& b) {
            auto sa = begin_of(a), sb = begin_of(b);
            return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
        });
        for (auto& kid : kids)
            flatten(*kid.node, key.empty() ? kid.name : key + "." + kid.name, kid.pos, out);
        return;
    }
    if (auto* a = node.as_array()) {
        if (a->is_array_of_tables() && !a->empty()) {
            for (std::size_t i = 0; i < a->size(); ++i)
                flatten(*a->get(i), key + "[" + std::to_string(i) + "]", {}, out);
            return;
        }
        v.type = TomlValue::Type::array;
        for (auto&& item : *a) {
            if (auto s = item.value<std::string>()) {
                v.items.push_back(*s);
            } else {
                v.items.push_back(print(item));
            }
        }
        out.push_back(v);
        return;
    }
    if (auto s = node.as_string()) {
        v.type = TomlValue::Type::string;
        v.text = s->get();
    } else if (auto i = node.as_integer()) {
        v.type = TomlValue::Type::integer;
        v.integer = i->get();
        v.text = std::to_string(v.integer);
    } else if (auto b = node.as_boolean()) {
        v.type = TomlValue::Type::boolean;
        v.boolean = b->get();
        v.text = v.boolean ? "true" : "false";
    } else if (node.is_floating_point()) {
        v.type = TomlValue::Type::floating;
        v.text = print(node);
    } else {
        v.type = TomlValue::Type::datetime;
        v.text = print(node);
    }
    out.push_back(v);
}

}  // namespace

const char* toml_type_name(TomlValue::Type type) {
    switch (type) {
        case TomlValue::Type::string:
            return "a string";
        case TomlValue::Type::integer:
            return "an integer";
        case TomlValue::Type::floating:
            return "a float";
        case TomlValue::Type::boolean:
            return "a boolean";
        case TomlValue::Type::datetime:
            return "a date-time";
        case TomlValue::Type::array:
            return "an array";
        case TomlValue::Type::table:
            return "a table";
    }
    return "a value";
}

std::vector<TomlValue> read_toml(const std::string& text, const std::string& origin) {
    std::vector<TomlValue> out;
    try {
        auto table = toml::parse(text, origin);
        flatten(table, "", {}, out);
    } catch (const toml::parse_error& e) {
        auto src = e.source();
        Diagnostic d{origin, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column),
                     std::string(e.description()), "check the TOML syntax near this position"};
        throw Error(ExitCode::usage, d.location_and_message(), d.hint, {d});
    }
    return out;
}

}  // namespace rollsafe
