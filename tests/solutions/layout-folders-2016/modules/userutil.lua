UserUtil = {}

function UserUtil.describe(name)
  return { user = name, admin = name == "root" }
end
