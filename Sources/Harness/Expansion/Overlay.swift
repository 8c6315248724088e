/// Profile overlays: a deep merge of a profile's mapping into the base document.
///
/// Rules: mappings merge key by key (keys new to the base are appended, in the overlay's order); any
/// other value replaces (a list replaces a list, `null` removes an optional value); `methods` given as a
/// mapping from method id to a partial method merges into the base's method of that id (given as a list,
/// it replaces the whole list); a loss given as a mapping merges into a base loss given by name. An
/// overlay key outside the schema, or a method id the base does not have, is an error.
enum Overlay {
  static func apply(_ overlay: ManifestNode, to base: ManifestNode, profile: String, reader: ManifestReader)
    -> ManifestNode
  {
    let prefix = "profiles.\(profile)"
    if overlay.isNull { return base }
    guard let overlayEntries = overlay.entries, var entries = base.entries else {
      reader.report(.wrongType, at: overlay, path: prefix, "\(overlay.typeName) is not a mapping", expected: "an overlay mapping")
      return base
    }
    for entry in overlayEntries {
      let path = "\(prefix).\(entry.key)"
      guard Schema.overlayable.contains(entry.key) else {
        reader.report(
          .overlayUnknownKey, at: entry.value, path: path,
          "profile '\(profile)' overlays '\(entry.key)', which a profile cannot change",
          expected: "one of: \(Schema.overlayable.joined(separator: ", "))", line: entry.keyLine)
        continue
      }
      let baseValue = base[entry.key]
      let merged: ManifestNode
      switch entry.key {
      case "methods": merged = mergeMethods(baseValue, entry.value, profile: profile, path: path, reader: reader)
      case "seeds": merged = entry.value.tagged(profile)
      default:
        merged = mergeObject(baseValue, entry.value, schema: entry.key, profile: profile, path: path, reader: reader)
      }
      if let i = entries.firstIndex(where: { $0.key == entry.key }) {
        entries[i].value = merged
      } else {
        entries.append(ManifestNode.Entry(key: entry.key, value: merged))
      }
    }
    return ManifestNode(kind: .mapping(entries), line: base.line)
  }

  /// Deep-merges `overlay` into `base` where the schema path `schema` names a mapping.
  static func mergeObject(
    _ base: ManifestNode?, _ overlay: ManifestNode, schema: String, profile: String, path: String,
    reader: ManifestReader
  ) -> ManifestNode {
    if schema == "method.loss" { return mergeLoss(base, overlay, profile: profile) }
    guard let overlayEntries = overlay.entries, let keys = Schema.objects[schema] else {
      return overlay.tagged(profile)
    }
    let baseIsMapping = base?.entries != nil
    var entries = base?.entries ?? []
    for entry in overlayEntries {
      let childPath = "\(path).\(entry.key)"
      guard keys.contains(entry.key) else {
        reader.report(
          .overlayUnknownKey, at: entry.value, path: childPath,
          "profile '\(profile)' overlays '\(entry.key)', a key the base manifest does not have",
          expected: "one of: \(keys.joined(separator: ", "))", line: entry.keyLine)
        continue
      }
      let merged = mergeObject(
        entries.first { $0.key == entry.key }?.value, entry.value, schema: "\(schema).\(entry.key)", profile: profile,
        path: childPath, reader: reader)
      if let i = entries.firstIndex(where: { $0.key == entry.key }) {
        entries[i].value = merged
      } else {
        entries.append(ManifestNode.Entry(key: entry.key, value: merged))
      }
    }
    if baseIsMapping, let base {
      return ManifestNode(kind: .mapping(entries), line: base.line, profile: base.profile)
    }
    return ManifestNode(kind: .mapping(entries), line: overlay.line, profile: profile)
  }

  private static func mergeLoss(_ base: ManifestNode?, _ overlay: ManifestNode, profile: String) -> ManifestNode {
    guard let overlayEntries = overlay.entries, let base else { return overlay.tagged(profile) }
    var entries: [ManifestNode.Entry]
    if let baseEntries = base.entries {
      entries = baseEntries
    } else if base.scalar != nil {
      entries = [ManifestNode.Entry(key: "name", value: base)]
    } else {
      return overlay.tagged(profile)
    }
    for entry in overlayEntries {
      if let i = entries.firstIndex(where: { $0.key == entry.key }) {
        entries[i].value = entry.value.tagged(profile)
      } else {
        entries.append(ManifestNode.Entry(key: entry.key, value: entry.value.tagged(profile)))
      }
    }
    return ManifestNode(kind: .mapping(entries), line: base.line, profile: base.profile)
  }

  private static func mergeMethods(
    _ base: ManifestNode?, _ overlay: ManifestNode, profile: String, path: String, reader: ManifestReader
  ) -> ManifestNode {
    guard let overlayEntries = overlay.entries else { return overlay.tagged(profile) }
    guard let base, var items = base.items else {
      reader.report(
        .overlayUnknownKey, at: overlay, path: path, "the overlay refines methods by id but the base has no method list",
        expected: "a base 'methods' list")
      return base ?? overlay
    }
    let ids = items.map { $0["id"]?.scalar?.text }
    for entry in overlayEntries {
      guard let i = ids.firstIndex(of: entry.key) else {
        reader.report(
          .overlayUnknownKey, at: entry.value, path: "\(path).\(entry.key)",
          "profile '\(profile)' overlays method '\(entry.key)', which the base manifest does not have",
          expected: "one of the base's method ids: \(ids.compactMap { $0 }.joined(separator: ", "))", line: entry.keyLine)
        continue
      }
      items[i] = mergeObject(
        items[i], entry.value, schema: "method", profile: profile, path: "\(path).\(entry.key)", reader: reader)
    }
    return ManifestNode(kind: .sequence(items), line: base.line, profile: base.profile)
  }
}
