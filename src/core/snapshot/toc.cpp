#include "core/snapshot/toc.h"

#include <map>
#include <set>

#include "core/base/text.h"

namespace rollsafe::snapshot {
namespace {

// Multi-word kinds first, so that "TABLE DATA" wins over "TABLE".
const std::vector<std::string> kDescs = {"MATERIALIZED VIEW DATA",
                                         "SEQUENCE OWNED BY",
                                         "PUBLICATION TABLES IN SCHEMA",
                                         "TEXT SEARCH CONFIGURATION",
                                         "TEXT SEARCH DICTIONARY",
                                         "TEXT SEARCH PARSER",
                                         "TEXT SEARCH TEMPLATE",
                                         "FOREIGN DATA WRAPPER",
                                         "PROCEDURAL LANGUAGE",
                                         "MATERIALIZED VIEW",
                                         "PUBLICATION TABLE",
                                         "CHECK CONSTRAINT",
                                         "FK CONSTRAINT",
                                         "OPERATOR CLASS",
                                         "OPERATOR FAMILY",
                                         "SECURITY LABEL",
                                         "FOREIGN SERVER",
                                         "EVENT TRIGGER",
                                         "FOREIGN TABLE",
                                         "DEFAULT ACL",
                                         "ROW SECURITY",
                                         "SEQUENCE SET",
                                         "INDEX ATTACH",
                                         "TABLE ATTACH",
                                         "LARGE OBJECT",
                                         "USER MAPPING",
                                         "SHELL TYPE",
                                         "TABLE DATA"};

const std::set<std::string> kPre = {"TABLE", "SEQUENCE", "SEQUENCE OWNED BY", "DEFAULT"};
const std::set<std::string> kPost = {"CONSTRAINT",   "CHECK CONSTRAINT", "INDEX", "TRIGGER",
                                     "ROW SECURITY", "POLICY",           "RULE",  "STATISTICS"};
const std::set<std::string> kAttached = {"COMMENT", "ACL", "SECURITY LABEL"};
const std::set<std::string> kRelations = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"};

}  // namespace

std::vector<TocEntry> parse_toc(const std::string& listing) {
    std::vector<TocEntry> out;
    for (const auto& raw : text::split(listing, '\n')) {
        std::string line = raw;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (text::starts_with(line, ";\tdepends on:") || text::starts_with(line, "; depends on:")) {
            if (out.empty())
                continue;
            auto list = line.substr(line.find(':') + 1);
            for (const auto& d : text::split(list, ' '))
                if (!d.empty())
                    out.back().deps.push_back(std::stoi(d));
            continue;
        }
        if (line.empty() || line[0] == ';')
            continue;
        auto semi = line.find(';');
        if (semi == std::string::npos)
            continue;
        TocEntry e;
        try {
            e.id = std::stoi(line.substr(0, semi));
        } catch (...) {
            continue;
        }
        e.line = line;
        // "<id>; <catalog oid> <oid> <desc> <schema> <tag> <owner>"
        std::string rest = line.substr(semi + 1);
        auto fields = text::split(std::string(text::trim(rest)), ' ');
        if (fields.size() < 3)
            continue;
        std::string after_oids;
        for (std::size_t i = 2; i < fields.size(); ++i)
            after_oids += (i > 2 ? " " : "") + fields[i];
        e.desc.clear();
        for (const auto& d : kDescs) {
            if (text::starts_with(after_oids, d + " ")) {
                e.desc = d;
                break;
            }
        }
        if (e.desc.empty())
            e.desc = after_oids.substr(0, after_oids.find(' '));
        e.rest = after_oids.size() > e.desc.size() ? after_oids.substr(e.desc.size() + 1) : "";
        auto sp = e.rest.find(' ');
        e.schema = e.rest.substr(0, sp);
        auto last = e.rest.rfind(' ');
        if (sp != std::string::npos && last != std::string::npos && last > sp)
            e.tag = e.rest.substr(sp + 1, last - sp - 1);
        out.push_back(e);
    }
    return out;
}

std::vector<TocEntry> TableSelection::definitions() const {
    std::vector<TocEntry> out = pre;
    out.insert(out.end(), sequence_sets.begin(), sequence_sets.end());
    out.insert(out.end(), post.begin(), post.end());
    out.insert(out.end(), foreign_keys.begin(), foreign_keys.end());
    return out;
}

std::optional<TableSelection> select_table(const std::vector<TocEntry>& toc,
                                           const std::string& schema, const std::string& name) {
    const TocEntry* table = nullptr;
    for (const auto& e : toc) {
        if (e.desc == "TABLE" && text::starts_with(e.rest, schema + " " + name + " ")) {
            table = &e;
            break;
        }
    }
    if (!table)
        return std::nullopt;
    std::map<int, const TocEntry*> by_id;
    for (const auto& e : toc)
        by_id[e.id] = &e;

    enum Phase { none = 0, pre = 1, data = 2, post = 3, fk = 4 };
    std::map<int, int> phase;  // selected id -> phase
    phase[table->id] = pre;
    std::set<int> others;
    bool changed = true;
    while (changed) {
        changed = false;
        for (const auto& e : toc) {
            if (phase.count(e.id) || others.count(e.id))
                continue;
            bool on_selected = false;
            int dep_phase = pre;
            bool on_other_relation = false;
            for (int d : e.deps) {
                auto it = phase.find(d);
                if (it != phase.end()) {
                    on_selected = true;
                    dep_phase = std::max(dep_phase, it->second);
                } else if (by_id.count(d) && kRelations.count(by_id[d]->desc)) {
                    on_other_relation = true;
                }
            }
            if (!on_selected)
                continue;
            changed = true;
            int p = none;
            if (e.desc == "FK CONSTRAINT") {
                bool own = e.schema == schema && text::starts_with(e.tag, name + " ");
                p = own ? fk : none;
            } else if (on_other_relation) {
                p = none;
            } else if (kPre.count(e.desc)) {
                p = pre;
            } else if (e.desc == "TABLE DATA" || e.desc == "SEQUENCE SET") {
                p = data;
            } else if (kPost.count(e.desc)) {
                p = post;
            } else if (kAttached.count(e.desc)) {
                p = dep_phase == data ? pre : dep_phase;
            }
            if (p == none)
                others.insert(e.id);
            else
                phase[e.id] = p;
        }
    }
    TableSelection sel;
    sel.table = *table;
    for (const auto& e : toc) {
        if (others.count(e.id)) {
            sel.others.push_back(e);
            continue;
        }
        auto it = phase.find(e.id);
        if (it == phase.end())
            continue;
        switch (it->second) {
            case pre:
                sel.pre.push_back(e);
                if (e.desc == "SEQUENCE")
                    sel.sequences.push_back(e);
                break;
            case data:
                (e.desc == "TABLE DATA" ? sel.data : sel.sequence_sets).push_back(e);
                break;
            case post:
                sel.post.push_back(e);
                if (e.desc == "STATISTICS")
                    sel.statistics.push_back(e);
                break;
            case fk:
                sel.foreign_keys.push_back(e);
                break;
            default:
                break;
        }
    }
    return sel;
}

std::string list_file(const std::vector<TocEntry>& entries) {
    std::string out;
    for (const auto& e : entries)
        out += e.line + "\n";
    return out;
}

}  // namespace rollsafe::snapshot
