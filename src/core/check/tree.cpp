#include "core/check/tree.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace rollsafe::check::tree {

const Node& Node::null_node() {
    static const Node null;
    return null;
}

bool Node::truthy() const {
    switch (m_type) {
        case Type::null:
            return false;
        case Type::boolean:
            return m_bool;
        case Type::integer:
            return m_int != 0;
        case Type::real:
            return m_real != 0.0;
        case Type::string:
            return m_size > 0;
        case Type::array:
        case Type::object:
            return true;
    }
    return false;
}

const Node& Node::operator[](std::string_view key) const {
    if (m_type != Type::object)
        return null_node();
    for (std::uint32_t i = 0; i < m_size; ++i)
        if (m_members[i].key == key)
            return m_members[i].value;
    return null_node();
}

const Node& Node::at(std::size_t i) const {
    if (m_type != Type::array || i >= m_size)
        return null_node();
    return m_items[i];
}

std::int64_t Node::integer(std::int64_t fallback) const {
    if (m_type == Type::integer)
        return m_int;
    if (m_type == Type::real)
        return static_cast<std::int64_t>(m_real);
    return fallback;
}

const Member* Node::members_begin() const {
    return m_type == Type::object ? m_members : nullptr;
}
const Member* Node::members_end() const {
    return m_type == Type::object ? m_members + m_size : nullptr;
}

std::string_view Node::kind() const {
    if (m_type != Type::object || m_size != 1)
        return {};
    return m_members[0].key;
}

const Node& Node::inner() const {
    if (m_type != Type::object || m_size != 1)
        return null_node();
    return m_members[0].value;
}

void* Document::allocate(std::size_t bytes) {
    bytes = (bytes + 15) & ~static_cast<std::size_t>(15);
    if (m_blocks.empty() || m_used + bytes > m_block) {
        std::size_t size = std::max<std::size_t>(bytes, 1 << 20);
        m_blocks.emplace_back(new char[size]);
        m_block = size;
        m_used = 0;
    }
    void* p = m_blocks.back().get() + m_used;
    m_used += bytes;
    return p;
}

// A recursive-descent JSON parser that builds Nodes in the document's arena. Arrays and objects
// collect their children on scratch stacks and move them to the arena when they close.
class Parser {
  public:
    explicit Parser(Document& doc)
        : m_doc(doc), m_p(doc.m_json.data()), m_end(m_p + doc.m_json.size()) {}

    bool run(std::string* error) {
        Node root;
        if (!value(root, 0)) {
            if (error)
                *error = m_error.empty() ? "malformed JSON" : m_error;
            return false;
        }
        skip_ws();
        if (m_p != m_end) {
            if (error)
                *error = "trailing characters after JSON";
            return false;
        }
        auto* stored = static_cast<Node*>(m_doc.allocate(sizeof(Node)));
        *stored = root;
        m_doc.m_root = stored;
        return true;
    }

  private:
    Document& m_doc;
    const char* m_p;
    const char* m_end;
    std::string m_error;
    std::vector<Node> m_items;
    std::vector<Member> m_members;

    void skip_ws() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t'))
            ++m_p;
    }

    bool fail(const char* what) {
        m_error = what;
        return false;
    }

    bool value(Node& out, int depth) {
        if (depth > 10000)
            return fail("JSON nested too deeply");
        skip_ws();
        if (m_p >= m_end)
            return fail("unexpected end of JSON");
        switch (*m_p) {
            case '{':
                return object(out, depth);
            case '[':
                return array(out, depth);
            case '"': {
                std::string_view s;
                if (!string(s))
                    return false;
                out.m_type = Node::Type::string;
                out.m_str = s.data();
                out.m_size = static_cast<std::uint32_t>(s.size());
                return true;
            }
            case 't':
                if (m_end - m_p >= 4 && std::memcmp(m_p, "true", 4) == 0) {
                    m_p += 4;
                    out.m_type = Node::Type::boolean;
                    out.m_bool = true;
                    return true;
                }
                return fail("bad literal");
            case 'f':
                if (m_end - m_p >= 5 && std::memcmp(m_p, "false", 5) == 0) {
                    m_p += 5;
                    out.m_type = Node::Type::boolean;
                    out.m_bool = false;
                    return true;
                }
                return fail("bad literal");
            case 'n':
                if (m_end - m_p >= 4 && std::memcmp(m_p, "null", 4) == 0) {
                    m_p += 4;
                    out = Node();
                    return true;
                }
                return fail("bad literal");
            default:
                return number(out);
        }
    }

    bool number(Node& out) {
        const char* start = m_p;
        bool negative = false;
        if (m_p < m_end && *m_p == '-') {
            negative = true;
            ++m_p;
        }
        std::int64_t v = 0;
        const char* digits = m_p;
        while (m_p < m_end && *m_p >= '0' && *m_p <= '9')
            v = v * 10 + (*m_p++ - '0');
        if (m_p == digits)
            return fail("unexpected character in JSON");
        if (m_p < m_end && (*m_p == '.' || *m_p == 'e' || *m_p == 'E')) {
            while (m_p < m_end && *m_p != 0 && std::strchr("0123456789.eE+-", *m_p) != nullptr)
                ++m_p;
            std::string text(start, m_p);
            out.m_type = Node::Type::real;
            out.m_real = std::strtod(text.c_str(), nullptr);
            return true;
        }
        out.m_type = Node::Type::integer;
        out.m_int = negative ? -v : v;
        return true;
    }

    static void put_utf8(std::string& s, unsigned cp) {
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xF0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(unsigned& cp) {
        if (m_end - m_p < 4)
            return fail("bad \\u escape");
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            char c = *m_p++;
            cp <<= 4;
            if (c >= '0' && c <= '9')
                cp |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                cp |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                cp |= static_cast<unsigned>(c - 'A' + 10);
            else
                return fail("bad \\u escape");
        }
        return true;
    }

    // Reads a string; without escapes it is a view into the JSON text, else decoded into the arena.
    bool string(std::string_view& out) {
        ++m_p;  // opening quote
        const char* start = m_p;
        while (m_p < m_end && *m_p != '"' && *m_p != '\\')
            ++m_p;
        if (m_p >= m_end)
            return fail("unterminated string");
        if (*m_p == '"') {
            out = std::string_view(start, static_cast<std::size_t>(m_p - start));
            ++m_p;
            return true;
        }
        std::string decoded(start, m_p);
        while (m_p < m_end && *m_p != '"') {
            if (*m_p != '\\') {
                decoded += *m_p++;
                continue;
            }
            ++m_p;
            if (m_p >= m_end)
                return fail("unterminated string");
            char c = *m_p++;
            switch (c) {
                case '"':
                    decoded += '"';
                    break;
                case '\\':
                    decoded += '\\';
                    break;
                case '/':
                    decoded += '/';
                    break;
                case 'b':
                    decoded += '\b';
                    break;
                case 'f':
                    decoded += '\f';
                    break;
                case 'n':
                    decoded += '\n';
                    break;
                case 'r':
                    decoded += '\r';
                    break;
                case 't':
                    decoded += '\t';
                    break;
                case 'u': {
                    unsigned cp = 0;
                    if (!hex4(cp))
                        return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF && m_end - m_p >= 6 && m_p[0] == '\\' &&
                        m_p[1] == 'u') {
                        m_p += 2;
                        unsigned low = 0;
                        if (!hex4(low))
                            return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    put_utf8(decoded, cp);
                    break;
                }
                default:
                    return fail("bad escape in string");
            }
        }
        if (m_p >= m_end)
            return fail("unterminated string");
        ++m_p;
        auto* mem = static_cast<char*>(m_doc.allocate(decoded.size() + 1));
        std::memcpy(mem, decoded.data(), decoded.size());
        out = std::string_view(mem, decoded.size());
        return true;
    }

    bool array(Node& out, int depth) {
        ++m_p;
        std::size_t base = m_items.size();
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
        } else {
            while (true) {
                Node item;
                if (!value(item, depth + 1))
                    return false;
                m_items.push_back(item);
                skip_ws();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    continue;
                }
                if (m_p < m_end && *m_p == ']') {
                    ++m_p;
                    break;
                }
                return fail("expected , or ] in array");
            }
        }
        std::size_t n = m_items.size() - base;
        auto* mem = static_cast<Node*>(m_doc.allocate(sizeof(Node) * (n ? n : 1)));
        for (std::size_t i = 0; i < n; ++i)
            mem[i] = m_items[base + i];
        m_items.resize(base);
        out.m_type = Node::Type::array;
        out.m_items = mem;
        out.m_size = static_cast<std::uint32_t>(n);
        return true;
    }

    bool object(Node& out, int depth) {
        ++m_p;
        std::size_t base = m_members.size();
        skip_ws();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
        } else {
            while (true) {
                skip_ws();
                if (m_p >= m_end || *m_p != '"')
                    return fail("expected a key in object");
                Member m;
                if (!string(m.key))
                    return false;
                skip_ws();
                if (m_p >= m_end || *m_p != ':')
                    return fail("expected : in object");
                ++m_p;
                if (!value(m.value, depth + 1))
                    return false;
                m_members.push_back(m);
                skip_ws();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    continue;
                }
                if (m_p < m_end && *m_p == '}') {
                    ++m_p;
                    break;
                }
                return fail("expected , or } in object");
            }
        }
        std::size_t n = m_members.size() - base;
        auto* mem = static_cast<Member*>(m_doc.allocate(sizeof(Member) * (n ? n : 1)));
        for (std::size_t i = 0; i < n; ++i)
            new (&mem[i]) Member(m_members[base + i]);
        m_members.resize(base);
        out.m_type = Node::Type::object;
        out.m_members = mem;
        out.m_size = static_cast<std::uint32_t>(n);
        return true;
    }
};

bool Document::parse(std::string json, std::string* error) {
    m_json = std::move(json);
    m_blocks.clear();
    m_used = m_block = 0;
    m_root = nullptr;
    Parser p(*this);
    return p.run(error);
}

std::string dotted_name(const Node& list) {
    std::string out;
    for (const auto& item : list) {
        auto s = item["String"]["sval"].str();
        if (s.empty())
            continue;
        if (!out.empty())
            out += '.';
        out.append(s);
    }
    return out;
}

std::string_view last_name(const Node& list) {
    std::string_view out;
    for (const auto& item : list) {
        auto s = item["String"]["sval"].str();
        if (!s.empty())
            out = s;
    }
    return out;
}

}  // namespace rollsafe::check::tree
