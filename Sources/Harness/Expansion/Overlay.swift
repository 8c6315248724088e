/// Profile overlays: a deep merge of a profile's mapping into the base document.
///
/// Rules: mappings merge key by key (keys new to the base are appended, in the overlay's order); any
/// other value replaces (a list replaces a list, `null` removes an optional value); `methods` given as a
/// mapping from method id to a partial method merges into the base's method of that id (given as a list
/// it merges likewise into the methods whose ids its entries name: methods are refined, never dropped);
/// a method id the base does not have is added after the base's methods when its entry is a complete
/// method (it names a `loss`), so a profile can run a method the cheaper profiles do not; a loss given as
/// a mapping merges into a base loss given by name. An overlay key outside the schema, or a new method id
/// without a `loss`, is an error.
enum Overlay {
  static func apply(_ overlay: ManifestNode, to base: ManifestNode, profile: String, reader: ManifestReader)
    -> ManifestNode
  {
    let prefix = "profiles.\(profile)"
    if overlay.isNull { return base }
    guard let overlayEntries = overlay.entries, var entries = base.entries else {
      reader.report(
        .wrongType, at: overlay, path: prefix, "\(overlay.typeName) is not a mapping", expected: "an overlay mapping")
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

  /// Merges partial methods into the base's methods by id. The overlay is a list of partial methods
  /// each naming its `id` (`- {id: erm-drw, reweight: {start_epoch: 1}}`), or a mapping from id to a
  /// partial method; base methods it does not name are kept unchanged, in their order.
  private static func mergeMethods(
    _ base: ManifestNode?, _ overlay: ManifestNode, profile: String, path: String, reader: ManifestReader
  ) -> ManifestNode {
    var partials: [(id: String, node: ManifestNode, keyLine: Int, path: String)] = []
    if let entries = overlay.entries {
      partials = entries.map { ($0.key, $0.value, $0.keyLine, "\(path).\($0.key)") }
    } else if let items = overlay.items {
      for (i, item) in items.enumerated() {
        guard item.entries != nil, let id = item["id"]?.scalar?.text else {
          reader.report(
            .missingKey, at: item, path: "\(path)[\(i)].id", "a method overlay must name the method it changes",
            expected: "a mapping with the id of a base method")
          continue
        }
        partials.append((id, item, item.line, "\(path)[\(i)]"))
      }
    } else {
      reader.report(
        .wrongType, at: overlay, path: path, "\(overlay.typeName) is not a method overlay",
        expected: "a list of partial methods with ids, or a mapping from method id to a partial method")
      return base ?? overlay
    }
    guard let base, var items = base.items else { return base ?? overlay }
    var ids = items.map { $0["id"]?.scalar?.text }
    for partial in partials {
      guard let i = ids.firstIndex(of: partial.id) else {
        if partial.node["loss"] != nil, var entries = partial.node.entries {
          // A complete new method: added (with its id when the overlay is a mapping from id to method).
          if partial.node["id"] == nil {
            let id = ManifestNode.Scalar(text: partial.id, kind: .string, int: nil, double: nil, bool: nil)
            entries.insert(
              ManifestNode.Entry(key: "id", value: ManifestNode(kind: .scalar(id), line: partial.keyLine)), at: 0)
          }
          items.append(ManifestNode(kind: .mapping(entries), line: partial.node.line).tagged(profile))
          ids.append(partial.id)
          continue
        }
        reader.report(
          .overlayUnknownKey, at: partial.node, path: partial.path,
          "profile '\(profile)' overlays method '\(partial.id)', which the base manifest does not have",
          expected: "one of the base's method ids: \(ids.compactMap { $0 }.joined(separator: ", ")), "
            + "or a new method with a loss",
          line: partial.keyLine)
        continue
      }
      items[i] = mergeObject(
        items[i], partial.node, schema: "method", profile: profile, path: partial.path, reader: reader)
    }
    return ManifestNode(kind: .sequence(items), line: base.line, profile: base.profile)
  }
}
