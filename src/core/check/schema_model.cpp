#include "core/check/schema_model.h"

namespace rollsafe::check {

std::string relation_key(std::string_view schema, std::string_view name) {
    if (schema.empty() || schema == "public")
        return std::string(name);
    return std::string(schema) + "." + std::string(name);
}

const RelationInfo* SchemaModel::relation(const std::string& key) const {
    auto it = m_relations.find(key);
    if (it != m_relations.end())
        return it->second ? &*it->second : nullptr;
    return m_base ? m_base->relation(key) : nullptr;
}

RelationInfo& SchemaModel::relation_for_update(const std::string& key) {
    auto it = m_relations.find(key);
    if (it != m_relations.end() && it->second)
        return *it->second;
    const RelationInfo* inherited =
        (it == m_relations.end() && m_base) ? m_base->relation(key) : nullptr;
    auto& slot = m_relations[key];
    slot = inherited ? *inherited : RelationInfo{};
    return *slot;
}

void SchemaModel::add_relation(const std::string& key, RelationInfo info) {
    m_relations[key] = std::move(info);
}

void SchemaModel::drop_relation(const std::string& key) {
    m_relations[key] = std::nullopt;
}

void SchemaModel::rename_relation(const std::string& from, const std::string& to) {
    const RelationInfo* r = relation(from);
    RelationInfo copy = r ? *r : RelationInfo{};
    drop_relation(from);
    add_relation(to, std::move(copy));
}

const SchemaModel::IndexInfo* SchemaModel::index(const std::string& key) const {
    auto it = m_indexes.find(key);
    if (it != m_indexes.end())
        return it->second ? &*it->second : nullptr;
    return m_base ? m_base->index(key) : nullptr;
}

void SchemaModel::add_index(const std::string& key, IndexInfo info) {
    m_indexes[key] = std::move(info);
}

void SchemaModel::drop_index(const std::string& key) {
    m_indexes[key] = std::nullopt;
}

std::optional<int> SchemaModel::object_scope(const std::string& key) const {
    auto it = m_objects.find(key);
    if (it != m_objects.end())
        return it->second;
    return m_base ? m_base->object_scope(key) : std::nullopt;
}

void SchemaModel::add_object(const std::string& key, int scope) {
    m_objects[key] = scope;
}

void SchemaModel::drop_object(const std::string& key) {
    m_objects[key] = std::nullopt;
}

const FunctionVolatility& SchemaModel::functions() const {
    if (!m_base)
        return m_functions;
    m_merged_functions = m_base->functions();
    for (const auto& [k, v] : m_functions)
        m_merged_functions[k] = v;
    return m_merged_functions;
}

void SchemaModel::set_function(const std::string& name, char volatility) {
    m_functions[name] = volatility;
}

}  // namespace rollsafe::check
