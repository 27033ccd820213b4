#pragma once

// A streaming JSON writer for check's reports: it appends straight to a string, so writing a
// report with tens of thousands of findings costs one pass (no DOM is built).

#include <string>
#include <string_view>
#include <vector>

namespace rollsafe::check {

// Writes pretty-printed JSON (two-space indent). Calls must nest correctly; keys are written
// with key() before each value inside an object.
class JsonWriter {
  public:
    // Appends to `out`, which must outlive the writer.
    explicit JsonWriter(std::string& out) : m_out(out) {}

    // Open and close containers.

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    // Writes a key inside an object; the next call writes its value.
    void key(std::string_view k) {
        separator();
        quoted(k);
        m_out += ": ";
        m_after_key = true;
    }
    // Writes a value (inside an array, or after key()).
    void value(std::string_view s) {
        separator();
        quoted(s);
    }
    void value(const char* s) { value(std::string_view(s)); }
    void value(const std::string& s) { value(std::string_view(s)); }
    void value(long long n) {
        separator();
        m_out += std::to_string(n);
    }
    void value(int n) { value(static_cast<long long>(n)); }
    void value(bool b) {
        separator();
        m_out += b ? "true" : "false";
    }
    // Writes text that is already JSON (a number nlohmann formatted, say).
    void raw(std::string_view json) {
        separator();
        m_out += json;
    }
    // Writes null.
    void null() {
        separator();
        m_out += "null";
    }
    // Writes a member: a string, a number or a boolean.
    void member(std::string_view k, std::string_view v) {
        key(k);
        value(v);
    }
    void member(std::string_view k, const char* v) { member(k, std::string_view(v)); }
    void member(std::string_view k, const std::string& v) { member(k, std::string_view(v)); }
    void member(std::string_view k, long long n) {
        key(k);
        value(n);
    }
    void member(std::string_view k, int n) { member(k, static_cast<long long>(n)); }
    void member(std::string_view k, bool b) {
        key(k);
        value(b);
    }
    // Writes an array of strings as one member.
    void member(std::string_view k, const std::vector<std::string>& items) {
        key(k);
        begin_array();
        for (const auto& i : items)
            value(i);
        end_array();
    }

    // Appends s as a JSON string literal (with quotes) to out. Runs of characters that need no
    // escape are appended whole: a report of 16,000 findings spent a third of its rendering
    // appending one character at a time.
    static void quote_into(std::string& out, std::string_view s) {
        out += '"';
        std::size_t run = 0;  // start of the characters not yet appended
        for (std::size_t i = 0; i < s.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\')
                continue;
            out.append(s.data() + run, i - run);
            run = i + 1;
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default: {
                    static const char hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[(c >> 4) & 0xF];
                    out += hex[c & 0xF];
                }
            }
        }
        out.append(s.data() + run, s.size() - run);
        out += '"';
    }

  private:
    std::string& m_out;
    std::vector<bool> m_first;  // per open container: no element written yet
    bool m_after_key = false;

    void newline() {
        m_out += '\n';
        m_out.append(m_first.size() * 2, ' ');
    }
    void separator() {
        if (m_after_key) {
            m_after_key = false;
            return;
        }
        if (m_first.empty())
            return;
        if (!m_first.back())
            m_out += ',';
        m_first.back() = false;
        newline();
    }
    void open(char c) {
        separator();
        m_out += c;
        m_first.push_back(true);
    }
    void close(char c) {
        bool empty = m_first.back();
        m_first.pop_back();
        if (!empty)
            newline();
        m_out += c;
    }
    void quoted(std::string_view s) { quote_into(m_out, s); }
};

}  // namespace rollsafe::check
