-- Template user's data transformation (the 'vendor' safe namespace)
local transform = {}

function transform.data_in(cloud_data)
  local data_in = cloud_data.main
  if cloud_data.wind then
    data_in.wind_speed = cloud_data.wind.speed
  end
  if cloud_data.coord then
    data_in.gps = { lat = cloud_data.coord.lat, lng = cloud_data.coord.lon }
  end
  return { data_in = data_in }
end

return transform
