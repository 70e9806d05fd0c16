print("contenox")
