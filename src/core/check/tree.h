#pragma once

// A read-only, arena-allocated view of libpg_query's JSON parse tree. check parses whole
// scripts with it instead of nlohmann::json: on a 20,000-statement script libpg_query emits
// 11 MB of JSON, which nlohmann::json takes about 300 ms to build into a DOM, and this about
// 30 ms (bench/check_parse.cpp measures both).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rollsafe::check::tree {

struct Member;

// One JSON value. Missing keys and out-of-range indexes yield a null node, so lookups chain
// (`node["relation"]["relname"].str()`) without checks.
class Node {
  public:
    enum class Type : std::uint8_t { null, boolean, integer, real, string, array, object };

    // A null node.
    Node() = default;

    // Returns the JSON type; the is_* helpers test for one.
    Type type() const { return m_type; }
    bool is_null() const { return m_type == Type::null; }
    bool is_object() const { return m_type == Type::object; }
    bool is_array() const { return m_type == Type::array; }
    bool is_string() const { return m_type == Type::string; }
    // True when present and not null/false/0/"" (libpg_query omits default values).
    bool truthy() const;

    // Returns the member's value, or the null node when absent or this is not an object.
    const Node& operator[](std::string_view key) const;
    // Returns the i-th element, or the null node when out of range or this is not an array.
    const Node& at(std::size_t i) const;
    // Number of elements (arrays) or members (objects); 0 otherwise.
    std::size_t size() const {
        return m_type == Type::array || m_type == Type::object ? m_size : 0;
    }

    // Returns the string value, or "" for other types.
    std::string_view str() const {
        return m_type == Type::string ? std::string_view(m_str, m_size) : std::string_view();
    }
    // Returns the integer value (reals truncated), or `fallback` for other types.
    std::int64_t integer(std::int64_t fallback = 0) const;
    // Returns the boolean value, or false for other types.
    bool boolean() const { return m_type == Type::boolean && m_bool; }

    // Arrays: iteration over elements (empty range for other types).
    const Node* begin() const { return m_type == Type::array ? m_items : nullptr; }
    const Node* end() const { return m_type == Type::array ? m_items + m_size : nullptr; }
    // Objects: the members in document order (empty for other types).
    const Member* members_begin() const;
    const Member* members_end() const;

    // For libpg_query's wrapper objects such as {"ColumnDef": {...}}: the single key, or "".
    std::string_view kind() const;
    // For wrapper objects: the single member's value, or the null node.
    const Node& inner() const;

    // The shared null node.
    static const Node& null_node();

  private:
    friend class Parser;
    Type m_type = Type::null;
    bool m_bool = false;
    std::uint32_t m_size = 0;
    union {
        const char* m_str = nullptr;
        const Node* m_items;
        const Member* m_members;
        std::int64_t m_int;
        double m_real;
    };
};

// One key and value of an object.
struct Member {
    std::string_view key;
    Node value;
};

// Owns the JSON text and every node parsed from it.
class Document {
  public:
    Document() = default;
    Document(Document&&) noexcept = default;
    Document& operator=(Document&&) noexcept = default;
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;

    // Parses JSON text (taking ownership of it). Returns false and sets `error` on malformed
    // input; then root() is null.
    bool parse(std::string json, std::string* error = nullptr);
    const Node& root() const { return m_root ? *m_root : Node::null_node(); }

  private:
    friend class Parser;
    std::string m_json;
    std::vector<std::unique_ptr<char[]>> m_blocks;
    std::size_t m_used = 0;   // bytes used in the last block
    std::size_t m_block = 0;  // size of the last block
    const Node* m_root = nullptr;

    void* allocate(std::size_t bytes);
};

// Returns the names of a libpg_query name list ([{"String": {"sval": "a"}}, ...]) joined by ".".
std::string dotted_name(const Node& list);
// Returns the last name of such a list ("" when empty).
std::string_view last_name(const Node& list);

}  // namespace rollsafe::check::tree
