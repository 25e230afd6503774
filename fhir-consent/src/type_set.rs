//! Sets of resource types as consent rules name them: a list (`Observation`, `Condition`), or
//! every type but a list (a permit without `class`, narrowed by a deny's `class`).

use std::collections::BTreeSet;

/// A set of resource types, finite or co-finite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSet {
    /// Exactly these types.
    Only(BTreeSet<String>),
    /// Every type but these.
    AllBut(BTreeSet<String>),
}

impl TypeSet {
    /// Every resource type.
    pub fn all() -> Self {
        Self::AllBut(BTreeSet::new())
    }

    /// No resource type.
    pub fn none() -> Self {
        Self::Only(BTreeSet::new())
    }

    /// The set a rule's `class` list names: all types when it names none.
    pub fn named_or_all(types: BTreeSet<String>) -> Self {
        if types.is_empty() {
            Self::all()
        } else {
            Self::Only(types)
        }
    }

    /// Whether no type is in it.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Only(types) if types.is_empty())
    }

    /// Whether `resource_type` is in it.
    pub fn contains(&self, resource_type: &str) -> bool {
        match self {
            Self::Only(types) => types.contains(resource_type),
            Self::AllBut(excluded) => !excluded.contains(resource_type),
        }
    }

    /// The types in `self` and not in `other`.
    pub fn minus(&self, other: &TypeSet) -> TypeSet {
        match (self, other) {
            (Self::Only(a), Self::Only(b)) => Self::Only(a.difference(b).cloned().collect()),
            (Self::Only(a), Self::AllBut(b)) => Self::Only(a.intersection(b).cloned().collect()),
            (Self::AllBut(a), Self::Only(b)) => Self::AllBut(a.union(b).cloned().collect()),
            (Self::AllBut(a), Self::AllBut(b)) => Self::Only(b.difference(a).cloned().collect()),
        }
    }

    /// The types in both.
    pub fn intersect(&self, other: &TypeSet) -> TypeSet {
        self.minus(&TypeSet::all().minus(other))
    }

    /// The types in either.
    pub fn union(&self, other: &TypeSet) -> TypeSet {
        match (self, other) {
            (Self::Only(a), Self::Only(b)) => Self::Only(a.union(b).cloned().collect()),
            (Self::Only(a), Self::AllBut(b)) | (Self::AllBut(b), Self::Only(a)) => {
                Self::AllBut(b.difference(a).cloned().collect())
            }
            (Self::AllBut(a), Self::AllBut(b)) => Self::AllBut(a.intersection(b).cloned().collect()),
        }
    }

    /// The ledger form of a grant's types: `types` (`*` for all) and `except` (types excluded
    /// from `*`). Sorted, so equal sets encode equally.
    pub fn to_grant_lists(&self) -> (Vec<String>, Vec<String>) {
        match self {
            Self::Only(types) => (types.iter().cloned().collect(), Vec::new()),
            Self::AllBut(excluded) => (vec!["*".to_owned()], excluded.iter().cloned().collect()),
        }
    }

    /// The set a grant's `types` and `except` lists encode.
    pub fn from_grant_lists(types: &[String], except: &[String]) -> TypeSet {
        let excluded: BTreeSet<String> = except.iter().cloned().collect();
        if types.iter().any(|t| t == "*") {
            Self::AllBut(excluded)
        } else {
            Self::Only(types.iter().filter(|t| !excluded.contains(*t)).cloned().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TypeSet;

    fn only(types: &[&str]) -> TypeSet {
        TypeSet::Only(types.iter().map(|t| (*t).to_owned()).collect())
    }

    fn all_but(types: &[&str]) -> TypeSet {
        TypeSet::AllBut(types.iter().map(|t| (*t).to_owned()).collect())
    }

    #[test]
    fn set_algebra_over_finite_and_cofinite_sets() {
        assert_eq!(only(&["A", "B"]).minus(&only(&["B"])), only(&["A"]));
        assert_eq!(only(&["A", "B"]).minus(&all_but(&["B"])), only(&["B"]));
        assert_eq!(TypeSet::all().minus(&only(&["B"])), all_but(&["B"]));
        assert_eq!(all_but(&["A"]).minus(&all_but(&["A", "B"])), only(&["B"]));
        assert!(TypeSet::all().minus(&TypeSet::all()).is_empty());
        assert_eq!(only(&["A"]).union(&all_but(&["A", "B"])), all_but(&["B"]));
        assert_eq!(all_but(&["A", "B"]).union(&all_but(&["B", "C"])), all_but(&["B"]));
        assert!(all_but(&["B"]).contains("A") && !all_but(&["B"]).contains("B"));
        assert_eq!(only(&["A", "B"]).intersect(&all_but(&["B"])), only(&["A"]));
        assert_eq!(all_but(&["A"]).intersect(&all_but(&["B"])), all_but(&["A", "B"]));
        assert_eq!(TypeSet::all().intersect(&only(&["C"])), only(&["C"]));
    }

    #[test]
    fn grant_lists_round_trip() {
        for set in [only(&["Condition", "Observation"]), all_but(&["Observation"]), TypeSet::all(), TypeSet::none()] {
            let (types, except) = set.to_grant_lists();
            assert_eq!(TypeSet::from_grant_lists(&types, &except), set);
        }
        assert_eq!(TypeSet::all().to_grant_lists(), (vec!["*".to_owned()], vec![]));
    }
}
