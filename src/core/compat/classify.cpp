#include "core/compat/classify.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "core/base/text.h"

namespace rollsafe::compat {
namespace {

std::string text_of(const nlohmann::json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

std::string attr(const Catalog& c, const std::string& key, const std::string& name) {
    auto it = c.objects.find(key);
    if (it == c.objects.end() || !it->second.is_object()) return "";
    auto a = it->second.find(name);
    return a == it->second.end() ? "" : text_of(*a);
}

bool truthy(const std::string& v) { return v == "t" || v == "true"; }

std::string kind_of(const std::string& key) { return key.substr(0, key.find(':')); }
std::string name_of(const std::string& key) {
    auto colon = key.find(':');
    return colon == std::string::npos ? key : key.substr(colon + 1);
}

// Splits a quote_ident()ed dotted name ("public"."a.b".c) into its parts, quotes kept.
std::vector<std::string> split_name(const std::string& name) {
    std::vector<std::string> parts;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '"') {
            if (quoted && i + 1 < name.size() && name[i + 1] == '"') {
                cur += "\"\"";
                ++i;
                continue;
            }
            quoted = !quoted;
            cur += c;
        } else if (c == '.' && !quoted) {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(cur);
    return parts;
}

// "public.orders" for "public.orders.note" (the object's parent relation), "" when none.
std::string parent_relation(const std::string& name) {
    auto parts = split_name(name);
    if (parts.size() < 3) return "";
    return parts[0] + "." + parts[1];
}

ClassifiedChange make(const CatalogChange& c, const char* effect, const std::string& reason, const char* klass = "",
                      bool reverse = false) {
    ClassifiedChange out;
    out.change = c;
    out.effect = effect;
    out.reason = reason;
    out.klass = klass;
    out.reverse = reverse;
    return out;
}

// Splits "character varying(20)" into ("character varying", {20}); arrays keep their "[]".
struct TypeParts {
    std::string base;
    std::vector<int> mods;
    std::string suffix;  // "[]" and the like, plus anything after the modifier
};

TypeParts type_parts(const std::string& t) {
    static const std::regex re(R"(^([^(\[]+)(?:\(([0-9, ]+)\))?\s*(.*)$)");
    std::smatch m;
    TypeParts p;
    if (!std::regex_match(t, m, re)) {
        p.base = t;
        return p;
    }
    p.base = std::string(text::trim(m[1].str()));
    for (const auto& piece : text::split(m[2].str(), ',')) {
        auto s = std::string(text::trim(piece));
        if (!s.empty()) p.mods.push_back(std::stoi(s));
    }
    p.suffix = m[3].str();
    for (const char* zone : {" with time zone", " without time zone"}) {
        if (text::ends_with(p.base, zone)) {
            p.base.resize(p.base.size() - std::string(zone).size());
            p.suffix = std::string(zone + 1) + (p.suffix.empty() ? "" : " " + p.suffix);
        }
    }
    return p;
}

int integer_rank(const std::string& base) {
    if (base == "smallint") return 1;
    if (base == "integer") return 2;
    if (base == "bigint") return 3;
    if (base == "numeric") return 4;
    return 0;
}

}  // namespace

bool type_widened(const std::string& before, const std::string& after) {
    if (before == after) return false;
    auto b = type_parts(before), a = type_parts(after);
    // The suffix holds "[]" and "with time zone": those must stay as they are.
    if (b.suffix != a.suffix) return false;
    auto textual = [](const std::string& base) {
        return base == "text" || base == "character varying" || base == "character";
    };
    if (textual(b.base) && textual(a.base)) {
        if (a.base == "text") return true;
        if (a.base == "character varying") return a.mods.empty() || (!b.mods.empty() && a.mods[0] >= b.mods[0]);
        return false;  // to character(n): padding changes values
    }
    int br = integer_rank(b.base), ar = integer_rank(a.base);
    if (br && ar) {
        if (b.base == "numeric" && a.base == "numeric") {
            if (a.mods.empty()) return true;
            if (b.mods.empty()) return false;
            int bp = b.mods[0], bs = b.mods.size() > 1 ? b.mods[1] : 0;
            int ap = a.mods[0], as = a.mods.size() > 1 ? a.mods[1] : 0;
            return as >= bs && ap - as >= bp - bs;
        }
        if (a.base == "numeric") return a.mods.empty() || a.mods[0] - (a.mods.size() > 1 ? a.mods[1] : 0) >= 19;
        return ar > br;
    }
    if (b.base == "real" && a.base == "double precision") return true;
    if (b.base == a.base && !b.mods.empty()) {
        // bit varying(n), timestamp(p), time(p), interval(p): more room, same type.
        if (a.mods.empty()) return true;
        return a.mods[0] >= b.mods[0];
    }
    return false;
}

std::map<std::string, std::set<char>> parse_acl(const std::string& acl) {
    std::map<std::string, std::set<char>> out;
    if (acl.size() < 2 || acl.front() != '{') return out;
    std::string body = acl.substr(1, acl.size() - 2);
    std::vector<std::string> items;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        char c = body[i];
        if (c == '"') {
            quoted = !quoted;
            continue;
        }
        if (c == '\\' && i + 1 < body.size()) {
            cur += body[++i];
            continue;
        }
        if (c == ',' && !quoted) {
            items.push_back(cur);
            cur.clear();
            continue;
        }
        cur += c;
    }
    if (!cur.empty()) items.push_back(cur);
    for (const auto& item : items) {
        auto eq = item.rfind('=', item.find('/'));
        if (eq == std::string::npos) continue;
        std::string grantee = item.substr(0, eq);
        auto slash = item.find('/', eq);
        std::string privs = item.substr(eq + 1, slash == std::string::npos ? std::string::npos : slash - eq - 1);
        auto& set = out[grantee];
        for (char p : privs)
            if (p != '*') set.insert(p);
    }
    return out;
}

std::vector<std::string> privileges_revoked(const std::string& before_acl, const std::string& after_acl) {
    auto before = parse_acl(before_acl), after = parse_acl(after_acl);
    std::vector<std::string> out;
    for (const auto& [grantee, privs] : before) {
        auto it = after.find(grantee);
        std::string lost;
        for (char p : privs)
            if (it == after.end() || !it->second.count(p)) lost += p;
        // A NULL ACL afterwards means the owner's defaults again: only other grantees lose.
        if (!lost.empty() && !(after_acl.empty() && before_acl.find("/" + grantee) != std::string::npos))
            out.push_back((grantee.empty() ? std::string("PUBLIC") : grantee) + ": " + lost);
    }
    return out;
}

std::vector<std::string> parse_enum_labels(const std::string& labels) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < labels.size()) {
        auto q = labels.find('\'', i);
        if (q == std::string::npos) break;
        std::string label;
        std::size_t j = q + 1;
        while (j < labels.size()) {
            if (labels[j] == '\'') {
                if (j + 1 < labels.size() && labels[j + 1] == '\'') {
                    label += '\'';
                    j += 2;
                    continue;
                }
                break;
            }
            label += labels[j++];
        }
        out.push_back(label);
        i = j + 1;
    }
    return out;
}

ClassifiedChange classify_change(const CatalogChange& c, const Catalog& before, const Catalog& after) {
    const std::string kind = kind_of(c.object);
    const std::string name = name_of(c.object);
    if (c.kind == "removed") {
        if (kind == "relation") {
            auto what = attr(before, c.object, "kind");
            return make(c, "breaks-old", "the old app may still read or write " + (what.empty() ? "it" : "this " + what),
                        "contract");
        }
        if (kind == "column") return make(c, "breaks-old", "the old app may still read or write this column", "contract");
        if (kind == "constraint") {
            auto type = attr(before, c.object, "type");
            if (type == "p" || type == "u" || type == "x")
                return make(c, "breaks-old",
                            "the old app's ON CONFLICT on it fails, and the new app may write rows the old one "
                            "assumes unique",
                            "", true);
            return make(c, "expand", "fewer rules: nothing the old app writes fails because of this");
        }
        if (kind == "index") {
            if (attr(before, c.object, "definition").rfind("CREATE UNIQUE", 0) == 0)
                return make(c, "breaks-old",
                            "a unique index went: the old app's ON CONFLICT on it fails, and duplicates become "
                            "possible",
                            "", true);
            return make(c, "expand", "queries that used the index may get slower");
        }
        if (kind == "policy") return make(c, "expand", "rows it filtered become visible or writable");
        if (kind == "trigger")
            return make(c, "breaks-old", "the old app may rely on what the trigger did (a maintained column, an audit row)",
                        "contract");
        return make(c, "breaks-old", "the old app may still use this " + kind, "contract");
    }
    if (c.kind == "added") {
        if (kind == "column") {
            bool required = truthy(attr(after, c.object, "not_null")) && attr(after, c.object, "default").empty() &&
                            attr(after, c.object, "identity").empty() && attr(after, c.object, "generated").empty();
            if (required)
                return make(c, "breaks-old", "NOT NULL without a default: the old app's INSERTs do not set it and fail",
                            "contract");
            return make(c, "expand", "the old app does not know it and does not need to");
        }
        if (kind == "constraint") {
            bool valid = truthy(attr(after, c.object, "validated"));
            return make(c, "expand",
                        std::string("rows that violate it are rejected from now on, the old app's too") +
                            (valid ? "" : " (NOT VALID: existing rows are not checked yet)"));
        }
        if (kind == "index") {
            if (!truthy(attr(after, c.object, "valid")))
                return make(c, "breaks-new",
                            "the index is INVALID (a CREATE INDEX CONCURRENTLY that failed part way): queries do "
                            "not use it and, if unique, it enforces nothing");
            return make(c, "expand", "a new index");
        }
        if (kind == "trigger") return make(c, "expand", "it runs for the old app's writes too");
        if (kind == "policy") {
            auto rel = parent_relation(name);
            bool rls = truthy(attr(after, "relation:" + rel, "row_security"));
            if (rls)
                return make(c, "breaks-old", "row security is on: rows the old app reads or writes may be filtered",
                            "contract");
            return make(c, "expand", "row security is off for the table: the policy has no effect yet");
        }
        return make(c, "expand", "new: the old app does not use it");
    }
    // changed
    const std::string& a = c.attribute;
    const std::string& b4 = c.before;
    const std::string& af = c.after;
    auto acl_change = [&]() {
        auto lost = privileges_revoked(b4, af);
        if (!lost.empty())
            return make(c, "breaks-old", "privileges revoked (" + text::join(lost, "; ") + "): the old app may lose access",
                        "contract");
        return make(c, "expand", "privileges granted");
    };
    if (a == "acl") return acl_change();
    if (a == "comment") return make(c, "expand", "a comment");
    if (kind == "relation") {
        if (a == "kind") return make(c, "breaks-old", "what the old app reads or writes is now a different kind of relation", "contract");
        if (a == "row_security")
            return truthy(af) ? make(c, "breaks-old", "row security enabled: rows the old app reads or writes may be filtered", "contract")
                              : make(c, "expand", "row security disabled");
        if (a == "definition") return make(c, "expand", "the view's query changed (its columns are compared one by one)");
        return make(c, "expand", a + " changed");
    }
    if (kind == "column") {
        if (a == "type") {
            if (type_widened(b4, af))
                return make(c, "breaks-old",
                            "type widened: harmless now, but the new app may write values the old app cannot hold "
                            "or parse",
                            "", true);
            return make(c, "breaks-old", "type changed: the old app's reads and writes may fail or change meaning", "contract");
        }
        if (a == "not_null") {
            if (truthy(af)) return make(c, "breaks-old", "NOT NULL added: the old app's writes of NULL fail", "contract");
            return make(c, "breaks-old", "NOT NULL dropped: the new app may write NULLs the old app does not expect",
                        "contract", true);
        }
        if (a == "default") {
            if (af.empty() && !b4.empty()) {
                if (truthy(attr(after, c.object, "not_null")))
                    return make(c, "breaks-old",
                                "default dropped on a NOT NULL column: the old app's INSERTs that leave it out fail",
                                "contract");
                return make(c, "breaks-old",
                            "default dropped: the old app's INSERTs that leave it out now store NULL instead of " + b4,
                            "contract", true);
            }
            if (b4.empty()) return make(c, "expand", "a default added");
            return make(c, "expand", "default changed: rows the old app inserts get the new one");
        }
        if (a == "identity") {
            if (af == "a") return make(c, "breaks-old", "GENERATED ALWAYS: the old app's INSERTs that set it fail", "contract");
            return make(c, "expand", "identity changed");
        }
        if (a == "generated") {
            if (!af.empty()) return make(c, "breaks-old", "now generated: the old app's writes to it fail", "contract");
            return make(c, "expand", "no longer generated");
        }
        if (a == "collation") return make(c, "breaks-old", "collation changed: sort order and comparisons change");
        return make(c, "expand", a + " changed");
    }
    if (kind == "constraint") {
        if (a == "validated")
            return truthy(af) ? make(c, "expand", "validated: existing rows are checked now")
                              : make(c, "expand", "no longer validated: existing rows may violate it");
        return make(c, "breaks-old", "constraint changed: rows the old app writes may be rejected", "contract");
    }
    if (kind == "index") {
        if (a == "valid")
            return truthy(af) ? make(c, "expand", "the index became valid")
                              : make(c, "breaks-new", "the index became INVALID: queries do not use it and, if unique, it enforces nothing");
        return make(c, "expand", "index changed");
    }
    if (kind == "enum" && a == "labels") {
        auto bl = parse_enum_labels(b4), al = parse_enum_labels(af);
        std::vector<std::string> added;
        std::size_t j = 0;
        bool subsequence = true;
        for (const auto& l : al) {
            if (j < bl.size() && bl[j] == l) ++j;
            else added.push_back("'" + l + "'");
        }
        subsequence = j == bl.size();
        if (subsequence)
            return make(c, "breaks-old",
                        "value " + text::join(added, ", ") +
                            " added: the old app cannot read rows the new app writes with it",
                        "", true);
        return make(c, "breaks-old", "values removed or renamed: the old app's reads and writes of them fail", "contract");
    }
    if (kind == "domain") {
        if (a == "not_null" && !truthy(af)) return make(c, "expand", "NOT NULL dropped from the domain");
        if (a == "default" && !af.empty()) return make(c, "expand", "domain default changed");
        return make(c, "breaks-old", "domain " + a + " changed: values the old app writes may be rejected", "contract");
    }
    if (kind == "function") {
        if (a == "result") return make(c, "breaks-old", "result type changed: the old app's calls may fail", "contract");
        if (a == "body_md5") return make(c, "expand", "body changed: behaviour may differ for the old app");
        return make(c, "expand", a + " changed");
    }
    if (kind == "trigger") {
        if (a == "enabled" && af == "D")
            return make(c, "breaks-old", "trigger disabled: the old app may rely on what it did");
        return make(c, "expand", "trigger " + a + " changed");
    }
    if (kind == "sequence") {
        if (a == "type" && !type_widened(b4, af)) return make(c, "breaks-old", "sequence type narrowed", "contract");
        return make(c, "expand", "sequence " + a + " changed");
    }
    if (kind == "policy") return make(c, "breaks-old", "policy changed: rows the old app sees or writes may change");
    return make(c, "expand", a + " changed");
}

std::vector<ClassifiedChange> classify_diff(const Catalog& before, const Catalog& after, const std::string& migration) {
    auto changes = diff_catalogs(before, after);
    // Relations added or removed as a whole: their parts go with them.
    std::set<std::string> whole, columns;
    for (const auto& c : changes) {
        if (c.kind != "added" && c.kind != "removed") continue;
        if (kind_of(c.object) == "relation") whole.insert(name_of(c.object));
        if (kind_of(c.object) == "column") columns.insert(name_of(c.object));
    }
    std::vector<ClassifiedChange> out;
    for (const auto& c : changes) {
        if (c.kind == "added" || c.kind == "removed") {
            const Catalog& where = c.kind == "added" ? after : before;
            auto kind = kind_of(c.object);
            std::string owner;
            if (kind == "column" || kind == "constraint" || kind == "trigger" || kind == "policy")
                owner = parent_relation(name_of(c.object));
            else if (kind == "index")
                owner = attr(where, c.object, "on_table");
            // A sequence also appears as a relation: report the relation only, and not at all when
            // it belongs to a column (identity, serial) that came or went itself.
            if (kind == "sequence") continue;
            if (kind == "relation" && attr(where, c.object, "kind") == "sequence") {
                auto owned_by = attr(where, "sequence:" + name_of(c.object), "owned_by");
                if (columns.count(owned_by)) continue;
                owner = parent_relation(owned_by);
            }
            if (!owner.empty() && whole.count(owner)) continue;
        }
        // pg_get_constraintdef() says NOT VALID: a VALIDATE changes the text too, and the
        // "validated" attribute already tells that story.
        if (c.kind == "changed" && kind_of(c.object) == "constraint" && c.attribute == "definition") {
            auto strip = [](std::string d) {
                const std::string suffix = " NOT VALID";
                if (text::ends_with(d, suffix)) d.resize(d.size() - suffix.size());
                return d;
            };
            if (strip(c.before) == strip(c.after)) continue;
        }
        auto cc = classify_change(c, before, after);
        cc.migration = migration;
        out.push_back(std::move(cc));
    }
    return out;
}

}  // namespace rollsafe::compat
